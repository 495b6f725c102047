#!/usr/bin/env bash
# Writes the load generator's TLS test certificates into DIR: a CA (ca.pem), a server
# certificate signed by it for localhost, sni.test and 127.0.0.1 (server.pem, server.key),
# and an unrelated CA (other.pem) for the negative case. EC P-256 keys: fast to make and
# to handshake with. Usage: make_tls_certs.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -days 2 -keyout ca.key -out ca.pem \
  -subj /CN=meshplane-loadgen-test-ca 2>/dev/null
openssl req "${ec[@]}" -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost,DNS:sni.test,IP:127.0.0.1\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile server.ext -out server.pem 2>/dev/null
openssl req -x509 "${ec[@]}" -days 2 -keyout other.key -out other.pem -subj /CN=other-ca 2>/dev/null
