/* The ranks of one job across processes or machines: the one module that
 * speaks MPI, so the pipeline is written once and a process alone is simply
 * a job of one rank.
 *
 * dist_init joins the job only when an MPI launcher started the process
 * (mpirun sets OMPI_COMM_WORLD_SIZE; srun and other PMIx launchers set
 * PMIX_RANK; MPICH-style launchers PMI_RANK). Otherwise it calls no MPI
 * function at all: the process is rank 0 of 1, every call below is local and
 * cheap, and no MPI runtime is started (a plain `albertc ...` stays as it was).
 *
 * Transfers are point to point and always involve rank 0 (it gathers, it
 * broadcasts), but for the all-gathers (every rank's part to every rank: the
 * token counts of the texts each rank tokenized, and each rank's engine before
 * a pass, pipeline/encode.h). Every
 * wait polls (MPI_Test, then a 200 us sleep, so a waiting
 * rank leaves its core to the ranks computing beside it) and ends early:
 *   - with 1 when *stop becomes nonzero (a signal: under mpirun, the SIGTERM
 *     the launcher sends every rank when one of them died);
 *   - with -1 and a one-line error when nothing arrived for dist_timeout_s()
 *     seconds (ALBERTC_MPI_TIMEOUT, default 600), so a survivor never waits
 *     forever on a peer that is gone without its launcher noticing;
 *   - with -1 and MPI's own error text (the communicator returns errors
 *     instead of aborting: MPI_ERRORS_RETURN).
 * A process that fails while the job runs ends it with dist_abort: the other
 * ranks are stopped by the launcher, whatever they were waiting for. */
#ifndef ALB_UTIL_DIST_H
#define ALB_UTIL_DIST_H

#include <signal.h>
#include <stddef.h>
#include "util/error.h"

/* Joins the job when launched by MPI (see above). -1 with the reason when the
 * launcher's job cannot be joined. */
int dist_init(int *argc, char ***argv, AlbError *err);
int dist_rank(void);   /* 0 .. dist_size() - 1; 0 alone */
int dist_size(void);   /* 1 alone */
/* The normal end of a job: every rank calls it (a no-op alone). */
void dist_finalize(void);
/* Ends the whole job now with exit status code (alone: exit(code)). */
_Noreturn void dist_abort(int code);
double dist_timeout_s(void);

/* A send in flight: its buffer must stay untouched until dist_wait. */
typedef struct {
    _Alignas(16) unsigned char opaque[16];  /* an MPI_Request */
    int active;
} DistSend;

/* Starts sending bytes of buf to rank `to`. Messages from one rank to another
 * arrive in the order they were sent. */
int dist_isend(const void *buf, size_t bytes, int to, DistSend *s, AlbError *err);
/* Lets s progress without waiting (a rank calls it between computations, so
 * that the transfer does not wait for its next dist_wait). 0 or -1. */
int dist_poll(DistSend *s, AlbError *err);
/* Waits for s to complete (an inactive s returns 0 at once). 0, 1 (stop), -1. */
int dist_wait(DistSend *s, const volatile sig_atomic_t *stop, AlbError *err);
/* Receives exactly bytes from rank `from` into buf. 0, 1 (stop), -1. */
int dist_recv(void *buf, size_t bytes, int from, const volatile sig_atomic_t *stop, AlbError *err);
/* Rank 0's bytes of buf to every rank (every rank calls it). 0, 1 (stop), -1. */
int dist_bcast(void *buf, size_t bytes, const volatile sig_atomic_t *stop, AlbError *err);
/* Every rank's part of buf to every rank (every rank calls it, with the same
 * bytes[0..dist_size())): part r is bytes[r] bytes at offset bytes[0] + ... +
 * bytes[r - 1]; each rank has written its own part before the call, and on
 * return every part is there. The whole of buf must fit in an int of bytes.
 * Alone: nothing to do. 0, 1 (stop), -1. */
int dist_allgather(void *buf, const size_t *bytes, const volatile sig_atomic_t *stop, AlbError *err);
/* Returns once every rank has called it. 0, 1 (stop), -1. */
int dist_barrier(const volatile sig_atomic_t *stop, AlbError *err);

#endif
