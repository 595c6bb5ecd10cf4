/* The option parser: the input, split at newlines, is the argument list of
 * `darknet gradcam ...`. It runs in an empty folder, so no relative path
 * names a real file and every run ends at a usage error or a missing file;
 * `init` and `scenes` (which write files) are left out. Whatever the
 * arguments, gc_cli_main must return 0, 1 or 2, never crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc_cli.h"
#include "gc_fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *tmp = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/gc-fuzz-cli-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl) || chdir(tmpl) != 0) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char buf[4097];
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[34] = {"darknet", "gradcam"};
    int argc = 2;
    for (char *p = buf; argc < 33;) {
        argv[argc++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    argv[argc] = NULL;
    if (argc > 2 && (!strcmp(argv[2], "init") || !strcmp(argv[2], "scenes"))) return 0;
    int rc = gc_cli_main(argc, argv);
    if (rc < 0 || rc > 2) __builtin_trap();
    return 0;
}
