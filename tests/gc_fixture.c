#include "gc_fixture.h"

#include "gc_model.h"
#include "gc_rng.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

float gcf_uniform(uint64_t *state, float lo, float hi)
{
    return lo + (hi - lo) * gc_rng_unit(state);
}

network *gcf_random_network(const char *cfg, unsigned seed)
{
    network *net = parse_network_cfg((char *)cfg);
    if (!net) return NULL;
    set_batch_network(net, 1);
    gc_model_randomize(net, seed);
    return net;
}

int gcf_write_random_weights(const char *cfg, const char *path, unsigned seed)
{
    network *net = gcf_random_network(cfg, seed);
    if (!net) return -1;
    save_weights(net, (char *)path);
    free_network(net);
    return 0;
}

char *gcf_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/gradcam-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void gcf_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    char p[4096];
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) gcf_rmtree(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int gcf_count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) ++n;
    closedir(d);
    return n;
}

char *gcf_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    char *b = n >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (!b) return NULL;
    b[n] = '\0';
    if (len) *len = (size_t)n;
    return b;
}

static void slurp(int fd, char *buf, size_t cap)
{
    size_t have = 0;
    char sink[4096];
    for (;;) {
        ssize_t r = have + 1 < cap ? read(fd, buf + have, cap - 1 - have) : read(fd, sink, sizeof sink);
        if (r <= 0) break;
        if (have + 1 < cap) have += (size_t)r;
    }
    if (cap) buf[have] = '\0';
}

/* "./darknet" is the binary under test: GC_DARKNET_BIN names another build
 * of it (make asan's); argv[0] stays what the program sees. */
static const char *binary_under_test(const char *argv0)
{
    const char *bin = getenv("GC_DARKNET_BIN");
    return bin && *bin && !strcmp(argv0, "./darknet") ? bin : argv0;
}

const char *gcf_shell_binary(void)
{
    static char bin[4096];
    const char *env = getenv("GC_DARKNET_BIN");
    snprintf(bin, sizeof bin, "%s%s", env && *env && !strchr(env, '/') ? "./" : "", env && *env ? env : "./darknet");
    return bin;
}

pid_t gcf_spawn(char *const argv[], int ign_hup)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0) {
            dup2(dn, 1);
            dup2(dn, 2);
        }
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, ign_hup ? SIG_IGN : SIG_DFL);
        execv(binary_under_test(argv[0]), argv);
        _exit(127);
    }
    return pid;
}

int gcf_run(char *const argv[], char *out, size_t out_cap, char *err, size_t err_cap)
{
    char otmpl[] = "/tmp/gradcam-out-XXXXXX", etmpl[] = "/tmp/gradcam-err-XXXXXX";
    int ofd = mkstemp(otmpl), efd = mkstemp(etmpl);
    if (ofd < 0 || efd < 0) return -2;
    unlink(otmpl);
    unlink(etmpl);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        execv(binary_under_test(argv[0]), argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    lseek(ofd, 0, SEEK_SET);
    lseek(efd, 0, SEEK_SET);
    slurp(ofd, out, out_cap);
    slurp(efd, err, err_cap);
    close(ofd);
    close(efd);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return -1;
}

int gcf_run_gradcam(char *out, size_t out_cap, char *err, size_t err_cap, const char *a0, ...)
{
    char *argv[GCF_MAX_ARGS + 3];
    int n = 0;
    argv[n++] = "./darknet";
    argv[n++] = "gradcam";
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a; a = va_arg(ap, const char *)) {
        if (n == GCF_MAX_ARGS + 2) {
            va_end(ap);
            fprintf(stderr, "gcf_run_gradcam: more than %d arguments\n", GCF_MAX_ARGS);
            return -2;
        }
        argv[n++] = (char *)a;
    }
    va_end(ap);
    argv[n] = NULL;
    return gcf_run(argv, out, out_cap, err, err_cap);
}

const char *gcf_tail(const char *s, size_t n)
{
    size_t len = strlen(s);
    return len > n ? s + (len - n) : s;
}

const char *gcf_darknet_path(const char *rel)
{
    static char buf[4096];
    const char *dn = getenv("GC_DARKNET_DIR");
    snprintf(buf, sizeof buf, "%s/%s", dn && *dn ? dn : "build/darknet", rel);
    return buf;
}

const char *gcf_shared_model(const char *rel)
{
    static char buf[4096];
    const char *base = getenv("GC_SHARED_MODELS");
    snprintf(buf, sizeof buf, "%s/%s", base && *base ? base : "../shared/models", rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

void gcf_forward_range(network *net, int first, int last)
{
    network sub = *net;
    sub.train = 0;
    sub.truth = 0;
    sub.delta = 0;
    for (int i = first; i <= last; ++i) {
        sub.index = i;
        sub.input = net->layers[i - 1].output;
        net->layers[i].forward(net->layers[i], sub);
    }
}

static int argmax_moved(const network *net, int first, int last, int *const *saved)
{
    for (int i = first; i <= last; ++i) {
        const layer *l = &net->layers[i];
        if (l->type == MAXPOOL && memcmp(l->indexes, saved[i - first], (size_t)l->outputs * sizeof(int))) return 1;
    }
    return 0;
}

int gcf_finite_differences(network *net, int target, int last, gcf_scalar_fn f, const void *ctx, float eps,
                           double *fd)
{
    layer *t = &net->layers[target];
    int span = last - target, moved = 0;
    int **saved = calloc((size_t)(span > 0 ? span : 1), sizeof *saved);
    for (int i = target + 1; i <= last; ++i) {
        const layer *l = &net->layers[i];
        if (l->type != MAXPOOL) continue;
        saved[i - target - 1] = malloc((size_t)l->outputs * sizeof(int));
        memcpy(saved[i - target - 1], l->indexes, (size_t)l->outputs * sizeof(int));
    }
    for (int j = 0; j < t->outputs; ++j) {
        float keep = t->output[j];
        t->output[j] = keep + eps;
        gcf_forward_range(net, target + 1, last);
        double up = f(net, ctx);
        int tie = argmax_moved(net, target + 1, last, saved);
        t->output[j] = keep - eps;
        gcf_forward_range(net, target + 1, last);
        double down = f(net, ctx);
        tie |= argmax_moved(net, target + 1, last, saved);
        t->output[j] = keep;
        fd[j] = tie ? NAN : (up - down) / (2.0 * eps);
        moved += tie;
    }
    gcf_forward_range(net, target + 1, last);
    for (int i = 0; i < span; ++i) free(saved[i]);
    free(saved);
    return moved;
}

double gcf_rel_error(const float *g, const double *fd, int n)
{
    double num = 0, den = 0;
    for (int i = 0; i < n; ++i) {
        if (isnan(fd[i])) continue;
        num += (g[i] - fd[i]) * (g[i] - fd[i]);
        den += fd[i] * fd[i];
    }
    return sqrt(num / (den > 0 ? den : 1e-30));
}

int gcf_limit_address_space(size_t headroom)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    int ok = f && fscanf(f, "%lu", &pages) == 1;
    if (f) fclose(f);
    if (!ok) return -1;
    rlim_t as = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (rlim_t)headroom;
    struct rlimit rl = {as, as};
    return setrlimit(RLIMIT_AS, &rl) ? -1 : 0;
}
