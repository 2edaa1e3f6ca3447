/* data_paths.h - where this machine keeps the data sets the commands know by name. The
 * library takes directories and files only; the names are mapped here, once. */
#ifndef NG_DATA_PATHS_H
#define NG_DATA_PATHS_H

#include <string.h>

/* Debian's dataset-fashion-mnist package installs the IDX files here. */
#define NG_CLI_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* --data SPEC as ng_data_source_load takes it: "fashion-mnist" becomes its directory,
 * anything else ("curves", DIR, FILE.npy, ...) passes through. */
static inline const char *ng_cli_data_spec(const char *spec)
{
    return spec && !strcmp(spec, "fashion-mnist") ? NG_CLI_FASHION_MNIST_DIR : spec;
}

/* What to add to a failed load of a named set ("" for other specs). */
static inline const char *ng_cli_data_hint(const char *spec)
{
    return spec && !strcmp(spec, "fashion-mnist") ? " (Debian package dataset-fashion-mnist)" : "";
}

#endif
