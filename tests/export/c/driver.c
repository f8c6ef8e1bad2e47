/* Runs a model exported by `mlp export --format c` over the rows of a file: reads
 * MODEL_INPUTS little-endian floats per row from argv[1], writes MODEL_OUTPUTS per row to
 * argv[2]. Compiled by mlp-cli/tests/export.rs with -DMODEL_HEADER="model.h" and the
 * model's macro prefix as -DPREFIX. */
#include <stdio.h>
#include <stdlib.h>
#include MODEL_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define INPUTS CAT(PREFIX_UPPER, _INPUTS)
#define OUTPUTS CAT(PREFIX_UPPER, _OUTPUTS)
#define SCRATCH CAT(PREFIX_UPPER, _SCRATCH)
#define PREDICT CAT(PREFIX_LOWER, _predict)

int main(int argc, char **argv) {
    static float x[INPUTS], y[OUTPUTS], scratch[SCRATCH];
    FILE *in, *out;
    if (argc != 3) {
        return 2;
    }
    in = fopen(argv[1], "rb");
    out = fopen(argv[2], "wb");
    if (!in || !out) {
        return 2;
    }
    while (fread(x, sizeof(float), INPUTS, in) == INPUTS) {
        PREDICT(x, scratch, y);
        if (fwrite(y, sizeof(float), OUTPUTS, out) != OUTPUTS) {
            return 2;
        }
    }
    fclose(in);
    return fclose(out) == 0 ? 0 : 2;
}
