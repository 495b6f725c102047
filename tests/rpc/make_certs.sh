#!/usr/bin/env bash
# Writes a test CA, a server certificate for localhost/127.0.0.1 and a client
# certificate, all signed by the CA, into DIR. Usage: make_certs.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
subj() { printf '/CN=%s' "$1"; }
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout ca.key -out ca.pem \
  -subj "$(subj meshplane-test-ca)" 2>/dev/null
for who in server client; do
  openssl req -newkey rsa:2048 -nodes -keyout $who.key -out $who.csr \
    -subj "$(subj meshplane-test-$who)" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >$who.ext
  openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile $who.ext -out $who.pem 2>/dev/null
done
# A CA the server does not trust, for the negative case.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout other.key -out other.pem \
  -subj "$(subj other-ca)" 2>/dev/null
