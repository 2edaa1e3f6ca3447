/* commands.h - entry points of the natgrad subcommands, one file each. */
#ifndef NG_COMMANDS_H
#define NG_COMMANDS_H

int ng_cmd_demo(int argc, char **argv);  /* cmd_demo.c */
int ng_cmd_race(int argc, char **argv);  /* cmd_race.c: 'natgrad race ae' */
int ng_cmd_bench(int argc, char **argv); /* cmd_bench.c: gemm here; ae, dmf below */
int ng_cmd_plot(int argc, char **argv);  /* cmd_plot.c */
int ng_cmd_data(int argc, char **argv);  /* cmd_data.c */
int ng_cmd_repro(int argc, char **argv); /* cmd_repro.c: goldstone-toy */
int ng_cmd_dmf(int argc, char **argv);   /* cmd_dmf.c: train, synth */
int ng_cmd_dmf_converge(int argc, char **argv); /* cmd_converge.c: 'natgrad dmf converge' */
int ng_cmd_ae(int argc, char **argv);    /* cmd_ae.c: autoencoder training */
int ng_cmd_mlp(int argc, char **argv);   /* cmd_ae.c: classifier training */
int ng_cmd_dwe(int argc, char **argv);   /* cmd_dwe.c: corpus, synth, train */
int ng_cmd_dwe_train(int argc, char **argv); /* cmd_dwe_train.c: 'natgrad dwe train' */

int ng_bench_ae(int argc, char **argv);  /* bench_ae.c */
int ng_bench_dmf(int argc, char **argv); /* bench_dmf.c */
int ng_bench_dwe(int argc, char **argv); /* bench_dwe.c */
int ng_data_curves(int argc, char **argv); /* data_curves.c: 'natgrad data curves' */
int ng_data_sotu(int argc, char **argv);   /* data_sotu.c: 'natgrad data sotu' */
int ng_cmd_dwe_query(int argc, char **argv); /* cmd_dwe_query.c: 'natgrad dwe export|query|overlap' */
int ng_cmd_dwe_eval(int argc, char **argv); /* cmd_dwe_eval.c: 'natgrad dwe evaluate' */

#endif
