/* Small helpers of the host platform: atomic file writes, directory trees, port probes and
 * JSON output of YAML trees (the store keeps every applied object as JSON, which is YAML). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"

mp_status mp__hfile_write(const char *path, const void *data, size_t len, unsigned mode) {
  char *tmp = mp_asprintf("%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
  if (fd < 0) {
    mp_status st = mp_error_set(MP_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    mp_free(tmp);
    return st;
  }
  fchmod(fd, (mode_t)mode); /* whatever the umask */
  const char *p = data;
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(fd, p + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      mp_status st = mp_error_set(MP_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
      close(fd);
      unlink(tmp);
      mp_free(tmp);
      return st;
    }
    off += (size_t)w;
  }
  if (close(fd) != 0 || rename(tmp, path) != 0) {
    mp_status st = mp_error_set(MP_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    mp_free(tmp);
    return st;
  }
  mp_free(tmp);
  return MP_OK;
}

mp_status mp__hfile_read(const char *path, mp_buf *out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return mp_error_set(errno == ENOENT ? MP_ERR_NOT_FOUND : MP_ERR_IO, "cannot open %s: %s", path,
                        strerror(errno));
  char chunk[8192];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      mp_status st = mp_error_set(MP_ERR_IO, "cannot read %s: %s", path, strerror(errno));
      close(fd);
      return st;
    }
    if (n == 0) break;
    mp_buf_append(out, chunk, (size_t)n);
  }
  close(fd);
  if (!out->data) mp_buf_puts(out, "");
  return MP_OK;
}

mp_status mp__hmkdirs(const char *path, unsigned mode) {
  char *p = mp_strdup(path);
  mp_status st = MP_OK;
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0') continue;
    char c = *s;
    *s = '\0';
    if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
      st = mp_error_set(MP_ERR_IO, "cannot create directory %s: %s", p, strerror(errno));
      break;
    }
    *s = c;
    if (!c) break;
  }
  mp_free(p);
  return st;
}

static mp_status rmtree_at(int at, const char *name) {
  struct stat sb;
  if (fstatat(at, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? MP_OK : mp_error_set(MP_ERR_IO, "stat %s: %s", name, strerror(errno));
  if (S_ISDIR(sb.st_mode)) {
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return mp_error_set(MP_ERR_IO, "open %s: %s", name, strerror(errno));
    DIR *d = fdopendir(fd);
    if (!d) {
      close(fd);
      return mp_error_set(MP_ERR_IO, "opendir %s: %s", name, strerror(errno));
    }
    mp_status st = MP_OK;
    for (struct dirent *e; (e = readdir(d));) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      mp_status s2 = rmtree_at(dirfd(d), e->d_name);
      if (st == MP_OK) st = s2;
    }
    closedir(d);
    if (unlinkat(at, name, AT_REMOVEDIR) != 0 && errno != ENOENT && st == MP_OK)
      st = mp_error_set(MP_ERR_IO, "rmdir %s: %s", name, strerror(errno));
    return st;
  }
  if (unlinkat(at, name, 0) != 0 && errno != ENOENT)
    return mp_error_set(MP_ERR_IO, "unlink %s: %s", name, strerror(errno));
  return MP_OK;
}

mp_status mp__hrmtree(const char *path) { return rmtree_at(AT_FDCWD, path); }

static int sock_for(const char *ip, int port, struct sockaddr_in *sa) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1) return -1;
  return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

bool mp__hport_open(const char *ip, int port) {
  struct sockaddr_in sa;
  int fd = sock_for(ip, port, &sa);
  if (fd < 0) return false;
  bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  close(fd);
  return ok;
}

bool mp__hport_free(const char *ip, int port) {
  struct sockaddr_in sa;
  int fd = sock_for(ip, port, &sa);
  if (fd < 0) return false;
  /* SO_REUSEADDR as the proxies set it: a port in TIME_WAIT is usable by them. */
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 1) == 0;
  close(fd);
  return ok;
}

void mp__hjson_str(mp_buf *out, const char *s) {
  mp_buf_puts(out, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      mp_buf_printf(out, "\\%c", *p);
    else if (*p == '\n')
      mp_buf_puts(out, "\\n");
    else if (*p == '\t')
      mp_buf_puts(out, "\\t");
    else if (*p < 0x20 || *p == 0x7f)
      mp_buf_printf(out, "\\u%04x", *p);
    else
      mp_buf_append(out, p, 1);
  }
  mp_buf_puts(out, "\"");
}

/* A plain scalar JSON can carry bare: an integer, true/false or null. */
static bool bare(const mp_yaml_node *n) {
  const char *s = n->str;
  if (n->quoted) return false;
  if (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "null")) return true;
  const char *p = s + (*s == '-');
  if (!*p || (*p == '0' && p[1])) return false;
  for (; *p; p++)
    if (*p < '0' || *p > '9') return false;
  return strlen(s) < 16;
}

void mp__hjson_node(mp_buf *out, const mp_yaml_node *n) {
  if (!n || n->type == MP_YAML_NULL) {
    mp_buf_puts(out, "null");
  } else if (n->type == MP_YAML_SCALAR) {
    if (bare(n))
      mp_buf_puts(out, n->str);
    else
      mp__hjson_str(out, n->str);
  } else if (n->type == MP_YAML_SEQ) {
    mp_buf_puts(out, "[");
    for (size_t i = 0; i < n->n; i++) {
      if (i) mp_buf_puts(out, ",");
      mp__hjson_node(out, n->kids[i]);
    }
    mp_buf_puts(out, "]");
  } else {
    mp_buf_puts(out, "{");
    for (size_t i = 0; i + 1 < n->n; i += 2) {
      if (i) mp_buf_puts(out, ",");
      const mp_yaml_node *k = n->kids[i];
      mp__hjson_str(out, k && k->type == MP_YAML_SCALAR ? k->str : "");
      mp_buf_puts(out, ":");
      mp__hjson_node(out, n->kids[i + 1]);
    }
    mp_buf_puts(out, "}");
  }
}
