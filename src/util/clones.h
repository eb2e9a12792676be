/* HOT_CLONES, on a function: a portable build (make PORTABLE=1, x86-64-v2)
 * also compiles an x86-64-v3 clone of it (AVX2, FMA), which the CPU picks at
 * run time; other builds compile it once, for their own -march. Only for
 * code whose results do not depend on the ISA: with -ffp-contract=off (the
 * Makefile) the clones differ in speed only: wider vectors across independent
 * elements, and fmaf() one instruction instead of a libm call. */
#ifndef ALB_UTIL_CLONES_H
#define ALB_UTIL_CLONES_H

#ifdef ALB_PORTABLE
#define HOT_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define HOT_CLONES
#endif

#endif
