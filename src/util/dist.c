/* MPI behind a small interface; see dist.h. */
#include "util/dist.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"

_Static_assert(sizeof(MPI_Request) <= sizeof(((DistSend *)0)->opaque), "DistSend too small for an MPI_Request");

static int joined, rank, size = 1;

static int launched_by_mpi(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

static int mpi_fail(AlbError *err, int code, const char *what) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "MPI error %d", code);
    return alb_fail(err, "rank %d of %d: %s: %s", rank, size, what, text);
}

int dist_init(int *argc, char ***argv, AlbError *err) {
    if (!launched_by_mpi()) return 0;
    /* FUNNELED: OpenMP threads compute, only the main thread calls MPI */
    int provided, rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return alb_fail(err, "cannot join the MPI job (MPI_Init_thread failed)");
    joined = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return 0;
}

int dist_rank(void) { return rank; }
int dist_size(void) { return size; }

void dist_finalize(void) {
    if (joined) MPI_Finalize();
    joined = 0;
}

_Noreturn void dist_abort(int code) {
    if (joined) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

double dist_timeout_s(void) {
    const char *s = getenv("ALBERTC_MPI_TIMEOUT");
    double t = s && *s ? strtod(s, NULL) : 0;
    return t > 0 ? t : 600.0;
}

/* Polls r to completion: see dist.h for the three ways it ends early. peer:
 * the rank waited for, -1 for any of them (a collective among all). */
static int wait_request(MPI_Request *r, const volatile sig_atomic_t *stop, const char *what, int peer,
                        AlbError *err) {
    double deadline = monotonic_s() + dist_timeout_s();
    for (;;) {
        int done = 0, rc = MPI_Test(r, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, what);
        if (done) return 0;
        if (stop && *stop) return 1;
        if (monotonic_s() > deadline && peer < 0)
            return alb_fail(err, "rank %d of %d: %s: not every rank took part for %.0f s (ALBERTC_MPI_TIMEOUT): "
                            "one is gone or stuck", rank, size, what, dist_timeout_s());
        if (monotonic_s() > deadline)
            return alb_fail(err, "rank %d of %d: %s: nothing from rank %d for %.0f s (ALBERTC_MPI_TIMEOUT): "
                            "it is gone or stuck", rank, size, what, peer, dist_timeout_s());
        nanosleep(&(struct timespec){0, 200000}, NULL);
    }
}

static int count_of(size_t bytes, AlbError *err) {
    if (bytes > INT_MAX) return alb_fail(err, "rank %d of %d: a message of %zu bytes is too large", rank, size, bytes);
    return (int)bytes;
}

int dist_isend(const void *buf, size_t bytes, int to, DistSend *s, AlbError *err) {
    int n = count_of(bytes, err);
    if (n < 0) return -1;
    MPI_Request *r = (MPI_Request *)s->opaque;
    int rc = MPI_Isend(buf, n, MPI_BYTE, to, 0, MPI_COMM_WORLD, r);
    if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "send");
    s->active = 1;
    return 0;
}

int dist_poll(DistSend *s, AlbError *err) {
    if (!s->active) return 0;
    int done = 0, rc = MPI_Test((MPI_Request *)s->opaque, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "sending to rank 0");
    if (done) s->active = 0;
    return 0;
}

int dist_wait(DistSend *s, const volatile sig_atomic_t *stop, AlbError *err) {
    if (!s->active) return 0;
    int rc = wait_request((MPI_Request *)s->opaque, stop, "sending to rank 0", 0, err);
    if (rc == 0) s->active = 0;
    return rc;
}

int dist_recv(void *buf, size_t bytes, int from, const volatile sig_atomic_t *stop, AlbError *err) {
    int n = count_of(bytes, err);
    if (n < 0) return -1;
    MPI_Request r;
    int rc = MPI_Irecv(buf, n, MPI_BYTE, from, 0, MPI_COMM_WORLD, &r);
    if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "receive");
    char what[64];
    snprintf(what, sizeof what, "waiting for rank %d", from);
    rc = wait_request(&r, stop, what, from, err);
    if (rc) {  /* buf may be freed next: MPI must not write into it later */
        MPI_Cancel(&r);
        MPI_Request_free(&r);
    }
    return rc;
}

int dist_bcast(void *buf, size_t bytes, const volatile sig_atomic_t *stop, AlbError *err) {
    if (size == 1) return 0;
    int n = count_of(bytes, err);
    if (n < 0) return -1;
    MPI_Request r;
    int rc = MPI_Ibcast(buf, n, MPI_BYTE, 0, MPI_COMM_WORLD, &r);
    if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "broadcast");
    return wait_request(&r, stop, "broadcast from rank 0", 0, err);
}

int dist_allgather(void *buf, const size_t *bytes, const volatile sig_atomic_t *stop, AlbError *err) {
    if (size == 1) return 0;
    int *counts = alb_xmalloc(sizeof(int) * 2 * (size_t)size), *displs = counts + size, rc = 0;
    size_t at = 0;
    for (int r = 0; r < size && !rc; r++) {
        if (count_of(at + bytes[r], err) < 0) rc = -1;
        counts[r] = (int)bytes[r];
        displs[r] = (int)at;
        at += bytes[r];
    }
    MPI_Request r;
    if (!rc) {  /* in place: this rank's part is already where it goes */
        int mrc = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_BYTE,
                                  MPI_COMM_WORLD, &r);
        rc = mrc != MPI_SUCCESS ? mpi_fail(err, mrc, "all-gather") : wait_request(&r, stop, "all-gather", -1, err);
    }
    free(counts);  /* after a stop or a timeout the job ends: MPI is called no more but to abort */
    return rc;
}

int dist_barrier(const volatile sig_atomic_t *stop, AlbError *err) {
    if (size == 1) return 0;
    MPI_Request r;
    int rc = MPI_Ibarrier(MPI_COMM_WORLD, &r);
    if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "barrier");
    return wait_request(&r, stop, "barrier", 0, err);
}
