/*
 * The native client of bake's per-user build daemon: the same client as bin/daemon-client.js,
 * without starting Node. `npm run build` compiles it to dist/bake-client (scripts/build-client.js)
 * when a C compiler is there; bin/bake then runs it instead of Node.
 *
 * Why: with the daemon warm, a nothing-changed `bake build` is mostly the client starting Node
 * (45-90 ms on the machines measured) to send one line and copy the answer back. This client starts
 * in about a millisecond.
 *
 * What it does, as bin/daemon-client.js does: it works out whether the command goes through a
 * daemon (`build`, `commit`, `status`, `log`; not with BAKE_DAEMON=0, not under CI=true without
 * BAKE_DAEMON=1, not with BAKE_SERVICE, --service* or --help) and which socket that daemon listens
 * on (the same name the JS client computes: tested), sends the request, writes the command's
 * stdout and stderr back as they come, and exits with its exit code. A SIGINT, SIGTERM or SIGHUP
 * is passed on, and this process dies of it when the daemon does. Whenever the daemon cannot run
 * the command (none answers, busy, another environment, a rebuilt bake) it replaces itself with
 * `node bin/bake.js ARGS`, which runs the command locally and starts a daemon as before: nothing
 * works differently without this file, only slower.
 *
 * Usage (bin/bake): bake-client BIN_DIR [ARGS...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

static const char *const COMMANDS[] = {"build", "commit", "status", "log", NULL};
/* Variables a shell changes between two commands, and the daemon's own (bin/daemon-client.js VOLATILE). */
static const char *const VOLATILE[] = {"_", "PWD", "OLDPWD", "SHLVL", "BAKE_DAEMON", "BAKE_DAEMON_IDLE_MS", "BAKE_CLIENT", NULL};

static const char *bin_dir;
static char **args;
static int nargs;

/* ---- a growable byte buffer ---- */
struct buf {
  char *p;
  size_t n, cap;
};

static void put(struct buf *b, const void *data, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      fputs("bake: out of memory\n", stderr);
      exit(1);
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, data, n);
  b->n += n;
  b->p[b->n] = '\0';
}
static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

/* ---- the Node fallback ---- */

/* Runs the command as bin/bake would without this client: `node BIN_DIR/bake.js ARGS`. */
static void run_in_node(void) {
  signal(SIGPIPE, SIG_DFL);
  struct buf script = {0};
  puts_(&script, bin_dir);
  puts_(&script, "/bake.js");
  char **argv = calloc((size_t)nargs + 3, sizeof *argv);
  if (!argv) exit(1);
  argv[0] = "node";
  argv[1] = script.p;
  for (int i = 0; i < nargs; i++) argv[i + 2] = args[i];
  execvp("node", argv);
  fprintf(stderr, "bake: cannot start node: %s\n", strerror(errno));
  exit(127);
}

/* ---- what decides the daemon and its socket (bin/daemon-client.js daemonSocket) ---- */

static int one_of(const char *s, const char *const *set) {
  for (; *set; set++)
    if (strcmp(s, *set) == 0) return 1;
  return 0;
}

/* The command word: the first argument that is not an option or a global option's value. */
static const char *command_word(void) {
  static const char *const TAKES_VALUE[] = {"-C", "--workspace", "--service-url", "--service", NULL};
  for (int i = 0; i < nargs; i++) {
    if (args[i][0] == '-') continue;
    if (i > 0 && one_of(args[i - 1], TAKES_VALUE)) continue;
    return args[i];
  }
  return NULL;
}

static int is(const char *name, const char *value) {
  const char *v = getenv(name);
  return v && strcmp(v, value) == 0;
}

static int goes_through_daemon(void) {
  int wanted = is("BAKE_DAEMON", "1") || (!is("BAKE_DAEMON", "0") && !is("CI", "true"));
  const char *service = getenv("BAKE_SERVICE");
  if (!wanted || (service && *service)) return 0;
  const char *word = command_word();
  if (!word || !one_of(word, COMMANDS)) return 0;
  for (int i = 0; i < nargs; i++)
    if (strcmp(args[i], "-h") == 0 || strcmp(args[i], "--help") == 0 || strncmp(args[i], "--service", 9) == 0) return 0;
  return 1;
}

/* The environment the command sees: bin/bake.js gives NODE_EXTRA_CA_CERTS back from BAKE_EXTRA_CA_CERTS. */
static char **environment(int *count) {
  int n = 0;
  while (environ[n]) n++;
  char **env = calloc((size_t)n + 2, sizeof *env);
  if (!env) exit(1);
  int k = 0;
  for (int i = 0; i < n; i++)
    if (strchr(environ[i], '=')) env[k++] = environ[i];
  const char *extra = getenv("BAKE_EXTRA_CA_CERTS");
  const char *node = getenv("NODE_EXTRA_CA_CERTS");
  if (extra && *extra && !(node && *node)) {
    struct buf b = {0};
    puts_(&b, "NODE_EXTRA_CA_CERTS=");
    puts_(&b, extra);
    env[k++] = b.p;
  }
  *count = k;
  return env;
}

static size_t name_length(const char *entry) { return (size_t)(strchr(entry, '=') - entry); }

static int by_name(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  size_t nx = name_length(x), ny = name_length(y);
  int c = memcmp(x, y, nx < ny ? nx : ny);
  return c ? c : (nx > ny) - (nx < ny);
}

static int is_volatile(const char *entry) {
  size_t n = name_length(entry);
  for (const char *const *v = VOLATILE; *v; v++)
    if (strlen(*v) == n && memcmp(*v, entry, n) == 0) return 1;
  return 0;
}

/* "dev:ino:size:mtimeNs" of a file, as statSync(path, {bigint: true}) gives them. */
static int identity(const char *path, struct buf *out) {
  struct stat s;
  if (stat(path, &s) != 0) return 0;
  char text[128];
  unsigned long long mtime = (unsigned long long)s.st_mtim.tv_sec * 1000000000ULL + (unsigned long long)s.st_mtim.tv_nsec;
  snprintf(text, sizeof text, "%llu:%llu:%lld:%llu", (unsigned long long)s.st_dev, (unsigned long long)s.st_ino,
           (long long)s.st_size, mtime);
  puts_(out, text);
  return 1;
}

/* The node that `exec node` would start: the first executable `node` on PATH. */
static int node_identity(struct buf *out) {
  const char *path = getenv("PATH");
  if (!path) return 0;
  for (const char *at = path;;) {
    const char *end = strchr(at, ':');
    size_t n = end ? (size_t)(end - at) : strlen(at);
    struct buf file = {0};
    if (n == 0) puts_(&file, ".");
    else put(&file, at, n);
    puts_(&file, "/node");
    struct stat s;
    int found = stat(file.p, &s) == 0 && S_ISREG(s.st_mode) && access(file.p, X_OK) == 0;
    int ok = found && identity(file.p, out);
    free(file.p);
    if (found) return ok;
    if (!end) return 0;
    at = end + 1;
  }
}

/* 32-bit FNV-1a twice, over bytes (bin/daemon-client.js nameHash). */
static void name_hash(const struct buf *text, char out[17]) {
  uint32_t a = 0x811c9dc5u, b = 0x01000193u ^ 0x5bd1e995u;
  for (size_t i = 0; i < text->n; i++) {
    uint8_t c = (uint8_t)text->p[i];
    a = (a ^ c) * 0x01000193u;
    b = (b ^ c) * (0x01000193u + 2);
  }
  snprintf(out, 17, "%08x%08x", a, b);
}

/* The daemon's socket path, or 0 when there is none to ask (then Node decides, as before). */
static int socket_path(char **env, int count, struct buf *dir, struct buf *path) {
  struct buf key = {0};
  struct buf bundle = {0};
  puts_(&bundle, bin_dir);
  puts_(&bundle, "/../dist/bake.cjs");
  if (!identity(bundle.p, &key)) return 0;
  put(&key, "", 1);
  if (!node_identity(&key)) return 0;
  put(&key, "", 1);
  char uid[32];
  snprintf(uid, sizeof uid, "%ld", (long)getuid());
  puts_(&key, uid);
  put(&key, "", 1);
  char **sorted = calloc((size_t)count + 1, sizeof *sorted);
  if (!sorted) exit(1);
  memcpy(sorted, env, (size_t)count * sizeof *env);
  qsort(sorted, (size_t)count, sizeof *sorted, by_name);
  for (int i = 0; i < count; i++) {
    if (is_volatile(sorted[i]) || (i > 0 && by_name(&sorted[i - 1], &sorted[i]) == 0)) continue;
    puts_(&key, sorted[i]);
    put(&key, "", 1);
  }
  free(sorted);

  const char *runtime = getenv("XDG_RUNTIME_DIR");
  const char *cache = getenv("XDG_CACHE_HOME");
  if (runtime && *runtime) puts_(dir, runtime);
  else if (cache && *cache) puts_(dir, cache);
  else {
    const char *home = getenv("HOME");
    if (!home || !*home) {
      struct passwd *pw = getpwuid(getuid());
      home = pw ? pw->pw_dir : "/";
    }
    puts_(dir, home);
    puts_(dir, "/.cache");
  }
  puts_(dir, "/bake");
  char name[17];
  name_hash(&key, name);
  puts_(path, dir->p);
  puts_(path, "/daemon-");
  puts_(path, name);
  puts_(path, ".sock");
  free(key.p);
  free(bundle.p);
  /* A unix socket's path is limited to 107 bytes; the JS client gives up under 100 too. */
  return path->n < 100;
}

/* Whether `dir` is ours alone (a socket in a directory others can write could be anyone's). */
static int ours_alone(const char *dir) {
  struct stat s;
  return stat(dir, &s) == 0 && S_ISDIR(s.st_mode) && s.st_uid == getuid() && (s.st_mode & 022) == 0;
}

/* ---- JSON: the request out, the frames in ---- */

static void json_string(struct buf *b, const char *s, size_t n) {
  put(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      put(b, e, 2);
    } else if (c < 0x20) {
      char e[8];
      snprintf(e, sizeof e, "\\u%04x", c);
      puts_(b, e);
    } else {
      put(b, &s[i], 1);
    }
  }
  put(b, "\"", 1);
}

static void request(struct buf *b, char **env, int count) {
  puts_(b, "{\"argv\":[");
  for (int i = 0; i < nargs; i++) {
    if (i) puts_(b, ",");
    json_string(b, args[i], strlen(args[i]));
  }
  puts_(b, "],\"cwd\":");
  char *cwd = getcwd(NULL, 0);
  if (!cwd) run_in_node();
  json_string(b, cwd, strlen(cwd));
  free(cwd);
  puts_(b, ",\"env\":{");
  for (int i = 0; i < count; i++) {
    size_t n = name_length(env[i]);
    if (i) puts_(b, ",");
    json_string(b, env[i], n);
    puts_(b, ":");
    json_string(b, env[i] + n + 1, strlen(env[i] + n + 1));
  }
  mode_t mask = umask(0);
  umask(mask);
  char text[160];
  int out_tty = isatty(1), err_tty = isatty(2);
  snprintf(text, sizeof text, "},\"umask\":%u,\"tty\":{\"stdout\":%s,\"stderr\":%s", (unsigned)mask, out_tty ? "true" : "false",
           err_tty ? "true" : "false");
  puts_(b, text);
  struct winsize ws;
  if (err_tty && ioctl(2, TIOCGWINSZ, &ws) == 0) {
    snprintf(text, sizeof text, ",\"columns\":%u", (unsigned)ws.ws_col);
    puts_(b, text);
  }
  puts_(b, "}}\n");
}

static void utf8(struct buf *b, uint32_t cp) {
  char o[4];
  if (cp < 0x80) {
    o[0] = (char)cp;
    put(b, o, 1);
  } else if (cp < 0x800) {
    o[0] = (char)(0xc0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3f));
    put(b, o, 2);
  } else if (cp < 0x10000) {
    o[0] = (char)(0xe0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    put(b, o, 3);
  } else {
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    put(b, o, 4);
  }
}

static int hex4(const char *s, const char *end, uint32_t *out) {
  if (end - s < 4) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

/* Decodes the JSON string starting after its opening quote; returns where it ended, or NULL. A lone surrogate becomes U+FFFD, as Node writes it. */
static const char *json_text(const char *s, const char *end, struct buf *out) {
  while (s < end) {
    char c = *s++;
    if (c == '"') return s;
    if (c != '\\') {
      put(out, &c, 1);
      continue;
    }
    if (s >= end) return NULL;
    char e = *s++;
    switch (e) {
      case 'n': put(out, "\n", 1); break;
      case 't': put(out, "\t", 1); break;
      case 'r': put(out, "\r", 1); break;
      case 'b': put(out, "\b", 1); break;
      case 'f': put(out, "\f", 1); break;
      case 'u': {
        uint32_t cp;
        if (!hex4(s, end, &cp)) return NULL;
        s += 4;
        if (cp >= 0xd800 && cp < 0xdc00) {
          uint32_t low;
          if (end - s >= 6 && s[0] == '\\' && s[1] == 'u' && hex4(s + 2, end, &low) && low >= 0xdc00 && low < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            s += 6;
          } else {
            cp = 0xfffd;
          }
        } else if (cp >= 0xdc00 && cp < 0xe000) {
          cp = 0xfffd;
        }
        utf8(out, cp);
        break;
      }
      default: put(out, &e, 1);
    }
  }
  return NULL;
}

/* ---- talking to the daemon ---- */

static int sock = -1;
static volatile sig_atomic_t signalled = 0;

static void on_signal(int sig) {
  const char *frame = sig == SIGINT ? "{\"signal\":\"SIGINT\"}\n" : sig == SIGTERM ? "{\"signal\":\"SIGTERM\"}\n" : "{\"signal\":\"SIGHUP\"}\n";
  signalled = sig;
  if (sock >= 0) (void)!send(sock, frame, strlen(frame), MSG_NOSIGNAL);
}

static int stdout_open = 1, stderr_open = 1;

/* Writes all of it; a reader that went away (EPIPE) just gets no more, as with Node's streams. */
static void write_all(int fd, const char *p, size_t n, int *open) {
  while (*open && n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      *open = 0;
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

static int debug_daemon(void) {
  const char *debug = getenv("BAKE_DEBUG");
  if (!debug) return 0;
  for (const char *at = debug;;) {
    const char *end = strchr(at, ',');
    const char *stop = end ? end : at + strlen(at);
    while (at < stop && (*at == ' ' || *at == '\t' || *at == '\n' || *at == '\r')) at++;
    const char *last = stop;
    while (last > at && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == '\n' || last[-1] == '\r')) last--;
    size_t n = (size_t)(last - at);
    if ((n == 1 && *at == '*') || (n == 6 && memcmp(at, "daemon", 6) == 0)) return 1;
    if (!end) return 0;
    at = end + 1;
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs("usage: bake-client BIN_DIR [ARGS...] (bin/bake runs it)\n", stderr);
    return 2;
  }
  bin_dir = argv[1];
  args = argv + 2;
  nargs = argc - 2;
  if (!goes_through_daemon()) run_in_node();

  int count;
  char **env = environment(&count);
  struct buf dir = {0}, path = {0};
  if (!socket_path(env, count, &dir, &path) || !ours_alone(dir.p)) run_in_node();

  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, path.p, path.n + 1);
  sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) run_in_node();
  signal(SIGPIPE, SIG_IGN);

  struct buf req = {0};
  request(&req, env, count);
  for (size_t at = 0; at < req.n;) {
    ssize_t w = send(sock, req.p + at, req.n - at, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) run_in_node();
    at += (size_t)w;
  }

  int started = 0, finished = 0, code = 1;
  struct buf in = {0}, text = {0};
  char chunk[65536];
  for (;;) {
    ssize_t r = read(sock, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    put(&in, chunk, (size_t)r);
    size_t used = 0;
    for (char *nl; (nl = memchr(in.p + used, '\n', in.n - used)) != NULL; used = (size_t)(nl - in.p) + 1) {
      const char *line = in.p + used, *end = nl;
      /* A frame is one JSON.stringify({key: value}): {"key":value} */
      const char *key = line + 2, *colon = memchr(key, '"', (size_t)(end - key));
      if (end - line < 5 || line[0] != '{' || line[1] != '"' || !colon || colon[1] != ':') continue;
      size_t klen = (size_t)(colon - key);
      const char *value = colon + 2;
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
      if (KEY("decline")) {
        close(sock);
        run_in_node();
      } else if (KEY("accept")) {
        started = 1;
        if (debug_daemon()) {
          char msg[96];
          snprintf(msg, sizeof msg, "bake:daemon running in daemon PID %ld (native client)\n", strtol(value, NULL, 10));
          write_all(2, msg, strlen(msg), &stderr_open);
        }
        struct sigaction sa = {0};
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
      } else if ((KEY("out") || KEY("err")) && *value == '"') {
        text.n = 0;
        if (!json_text(value + 1, end, &text)) continue;
        if (KEY("out")) write_all(1, text.p, text.n, &stdout_open);
        else write_all(2, text.p, text.n, &stderr_open);
      } else if (KEY("exit")) {
        finished = 1;
        code = (int)strtol(value, NULL, 10);
      }
#undef KEY
    }
    memmove(in.p, in.p + used, in.n - used);
    in.n -= used;
  }
  close(sock);
  sock = -1;
  if (!started) {
    if (finished) return code;
    run_in_node();
  }
  if (!finished && signalled) {
    /* The daemon died of the signal this process was sent: so does this process. */
    int sig = signalled;
    signal(sig, SIG_DFL);
    raise(sig);
  }
  if (!finished) {
    const char *msg = "bake: the bake daemon stopped before the command finished (BAKE_DAEMON=0 runs commands without it)\n";
    write_all(2, msg, strlen(msg), &stderr_open);
    return 1;
  }
  return code;
}
