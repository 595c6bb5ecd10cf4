#include <stdio.h>
#include <stdlib.h>
void run_gradcam(int argc, char **argv);
void run_gradcam(int argc, char **argv)
{
    fprintf(stderr, "gradcam: not yet\n");
    exit(1);
}
