/* gc_cli: `./darknet gradcam ...`: the only place that parses argv, prints
 * usage and exits. */
#ifndef GC_CLI_H
#define GC_CLI_H

/* Runs the gradcam subcommand on argv (argv[0] = program, argv[1] =
 * "gradcam") and returns the exit status (0 on success). */
int gc_cli_main(int argc, char **argv);

/* Entry point dispatched from Darknet's examples/darknet.c: exits with
 * gc_cli_main's status. */
void run_gradcam(int argc, char **argv);

#endif
