/* albertc serve against a real server: $ALBERTC serve runs as a child
 * process on 127.0.0.1 (--port 0: the port it prints), and libcurl or a raw
 * socket talks to it. Every route and TEI error, answers equal to albertc
 * predict / embed / tokenize for the same texts, 200 concurrent clients with
 * mixed valid and invalid requests, a stalled half request, the payload limit
 * exactly and one byte over, and a graceful stop with a request in flight.
 * Every wait is bounded (curl and socket timeouts, a deadline on startup and
 * on exit). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "pipeline/classifier.h"
#include "testutil.h"
#include "tiny_classifier.h"

static void setup(void) {
    test_tmp_setup();
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void teardown(void) {
    curl_global_cleanup();
    test_tmp_teardown();
}

TestSuite(serve, .init = setup, .fini = teardown, .timeout = 120);

/* Seconds allowed for startup and for a graceful exit (ASan builds are slow). */
#define DEADLINE_S 60

static const char *const TEXTS[] = {"I am still waiting on my card?", "How do I link my new card?",
                                    "What exchange rate do you use?"};

/* ------------------------------------------------------------------ the server */

typedef struct {
    pid_t pid;
    int port;
    int err_fd;  /* the server's stderr */
    char startup[8192];  /* its stderr up to the 'listening on' line */
} ServerProc;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Starts albertc serve --model model --port 0 extra; returns once it printed
 * its "listening on" line. */
static ServerProc start_server(const char *model, const char *extra) {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 exec %s serve --model %s --port 0 %s", test_albertc(), model, extra);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[8192];
    size_t n = 0;
    const char *tag = "listening on http://127.0.0.1:";
    char *at = NULL;
    for (double t0 = now_s(); !at && now_s() - t0 < DEADLINE_S && n < sizeof buf - 1;) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        if (poll(&p, 1, 1000) <= 0) continue;
        ssize_t got = read(fds[0], buf + n, sizeof buf - 1 - n);
        if (got <= 0) break;
        n += (size_t)got;
        buf[n] = 0;
        at = strstr(buf, tag);
        if (at && !strchr(at, '\n')) at = NULL;  /* the whole line */
    }
    cr_assert(at, "%s: no 'listening on' line; stderr: %.*s", cmd, (int)n, buf);
    ServerProc s = {pid, atoi(at + strlen(tag)), fds[0], ""};
    memcpy(s.startup, buf, n + 1);
    return s;
}

/* The tiny classifier, trained, served with extra options. */
static ServerProc start_tiny(const char *extra) {
    tiny_classifier_train();
    return start_server(test_tmp_path("run/model"), extra);
}

/* Sends sig and returns the exit code (128 + signal when killed by one). */
static int stop_server(ServerProc *s, int sig) {
    kill(s->pid, sig);
    int st = 0;
    pid_t got = 0;
    for (double t0 = now_s(); (got = waitpid(s->pid, &st, WNOHANG)) == 0 && now_s() - t0 < DEADLINE_S;)
        usleep(10000);
    if (got == 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &st, 0);
        cr_assert_fail("albertc serve did not exit within %d s of signal %d", DEADLINE_S, sig);
    }
    char buf[4096];
    ssize_t n = read(s->err_fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    close(s->err_fd);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (code) cr_log_error("albertc serve exited %d; stderr: %s", code, buf);
    return code;
}

/* ------------------------------------------------------------------ HTTP */

typedef struct {
    char *data;
    size_t len;
} Buf;

typedef struct {
    CURLcode rc;
    long status;
    Buf body, headers;
} Resp;

static size_t collect(char *p, size_t size, size_t n, void *ud) {
    Buf *b = ud;
    b->data = realloc(b->data, b->len + size * n + 1);
    memcpy(b->data + b->len, p, size * n);
    b->len += size * n;
    b->data[b->len] = 0;
    return size * n;
}

/* One request on a new connection; body NULL: GET. header: one extra header or NULL. */
static Resp http(int port, const char *path, const char *body, size_t len, const char *header) {
    Resp r = {0};
    CURL *curl = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json");
    if (header) hs = curl_slist_append(hs, header);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r.headers);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    r.rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(curl);
    if (!r.body.data) r.body.data = calloc(1, 1);
    return r;
}

static Resp post(int port, const char *path, const char *body) { return http(port, path, body, strlen(body), NULL); }

static void resp_free(Resp *r) {
    free(r->body.data);
    free(r->headers.data);
}

static json_t *resp_json(const Resp *r) {
    json_error_t e;
    json_t *j = json_loads(r->body.data, 0, &e);
    cr_assert(j, "not JSON (%s): %s", e.text, r->body.data);
    return j;
}

/* A TEI error answer: status, error_type, and a message containing `part`. */
static void expect_error(int port, const char *path, const char *body, long status, const char *type,
                         const char *part) {
    Resp r = post(port, path, body);
    cr_expect_eq(r.status, status, "%s %s: status %ld, expected %ld: %s", path, body, r.status, status, r.body.data);
    json_t *j = resp_json(&r);
    const char *msg = json_string_value(json_object_get(j, "error"));
    cr_expect(msg && strstr(msg, part), "%s %s: error '%s' should mention '%s'", path, body, msg, part);
    if (type) cr_expect_str_eq(json_string_value(json_object_get(j, "error_type")), type, "%s", body);
    json_decref(j);
    resp_free(&r);
}

/* albertc args -> stdout, which must succeed. */
static char *albertc_out(const char *args) {
    char *out = NULL, *err = NULL;
    cr_assert_eq(test_albertc_run(&out, &err, "%s", args), 0, "%s: %s", args, err);
    free(err);
    return out;
}

/* /metrics holds every one of lines (NULL-terminated). */
static void expect_metrics(int port, const char *const *lines) {
    Resp r = http(port, "/metrics", NULL, 0, NULL);
    cr_expect_eq(r.status, 200);
    for (int k = 0; lines[k]; k++) cr_expect(strstr(r.body.data, lines[k]), "/metrics lacks %s:\n%s", lines[k], r.body.data);
    resp_free(&r);
}

/* ------------------------------------------------------------------ tests */

/* /predict, /, /embed, /tokenize answer what the CLI answers for the same
 * texts, byte for byte (a request alone makes the batches predict makes). */
Test(serve, answers_equal_predict_embed_tokenize) {
    tiny_classifier_train();
    const char *model = test_tmp_path("run/model");
    ServerProc s = start_server(model, "");
    char body[1024];

    char args[4096];
    snprintf(args, sizeof args, "predict --model %s --top-k 0 --text '%s'", model, TEXTS[0]);
    char *one = albertc_out(args);
    one[strcspn(one, "\n")] = 0;
    snprintf(body, sizeof body, "{\"inputs\": \"%s\"}", TEXTS[0]);
    for (int i = 0; i < 2; i++) {
        Resp r = post(s.port, i ? "/" : "/predict", body);
        cr_expect_eq(r.status, 200);
        cr_expect_str_eq(r.body.data, one, "%s", i ? "/" : "/predict");
        const char *headers[] = {"x-compute-time:", "x-queue-time:", "x-inference-time:", "x-total-time:",
                                 "x-compute-tokens: 10"};
        for (int h = 0; h < 5; h++) cr_expect(strstr(r.headers.data, headers[h]), "no %s in %s", headers[h], r.headers.data);
        resp_free(&r);
    }
    free(one);

    /* a batch (a list of [text] lists, as TEI's /predict takes it): a list of
     * answers, each predict's line for the same three texts */
    snprintf(args, sizeof args, "predict --model %s --top-k 0 --raw-scores --text '%s' --text '%s' --text '%s'", model,
             TEXTS[0], TEXTS[1], TEXTS[2]);
    char *lines = albertc_out(args);
    for (char *p = lines; (p = strchr(p, '\n'));) *p = p[1] ? ',' : 0;
    char want[8192];
    snprintf(want, sizeof want, "[%s]", lines);
    free(lines);
    snprintf(body, sizeof body, "{\"inputs\": [[\"%s\"], [\"%s\"], [\"%s\"]], \"raw_scores\": true}", TEXTS[0],
             TEXTS[1], TEXTS[2]);
    Resp r = post(s.port, "/predict", body);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body.data, want);
    resp_free(&r);

    /* /embed: the cls tensor albertc embed writes; normalize (the default) divides by its norm */
    char *in = strdup(test_tmp_path("embed.jsonl")), *out = strdup(test_tmp_path("embed.safetensors"));
    snprintf(body, sizeof body, "{\"text\": \"%s\"}\n", TEXTS[0]);
    test_write_file(in, body, strlen(body));
    snprintf(args, sizeof args, "embed --model %s --input %s --output %s", model, in, out);
    free(albertc_out(args));
    SafeTensors st;
    AlbError err;
    cr_assert_eq(st_open(&st, out, &err), 0, "%s", err.msg);
    const StTensor *cls = st_find(&st, "cls");
    int H = (int)cls->shape[1];
    float *want_f = malloc(sizeof(float) * (size_t)H);
    memcpy(want_f, cls->data, sizeof(float) * (size_t)H);
    st_close(&st);
    double norm = 0;
    for (int k = 0; k < H; k++) norm += (double)want_f[k] * want_f[k];
    norm = sqrt(norm);
    for (int normalize = 0; normalize < 2; normalize++) {
        snprintf(body, sizeof body, "{\"inputs\": \"%s\"%s}", TEXTS[0], normalize ? "" : ", \"normalize\": false");
        r = post(s.port, "/embed", body);
        cr_expect_eq(r.status, 200);
        json_t *j = resp_json(&r);
        json_t *v = json_array_get(j, 0);
        cr_assert_eq((int)json_array_size(v), H);
        for (int k = 0; k < H; k++) {
            double got = json_real_value(json_array_get(v, (size_t)k));
            if (normalize) cr_expect(fabs(got - want_f[k] / norm) < 1e-6, "normalized [%d] %g vs %g", k, got, want_f[k] / norm);
            else cr_expect_eq((float)got, want_f[k], "[%d] %.9g vs %.9g", k, got, want_f[k]);
        }
        json_decref(j);
        resp_free(&r);
    }
    free(want_f);
    free(in);
    free(out);

    /* /tokenize: albertc tokenize's ids; without special tokens, two fewer */
    snprintf(args, sizeof args, "tokenize --model %s --text '%s'", model, TEXTS[1]);
    char *ids = albertc_out(args);
    for (int special = 1; special >= 0; special--) {
        snprintf(body, sizeof body, "{\"inputs\": [\"%s\"], \"add_special_tokens\": %s}", TEXTS[1],
                 special ? "true" : "false");
        r = post(s.port, "/tokenize", body);
        cr_expect_eq(r.status, 200);
        json_t *root = resp_json(&r), *tokens = json_array_get(root, 0);
        char got[1024] = "";
        for (size_t k = 0; k < json_array_size(tokens); k++) {
            json_t *t = json_array_get(tokens, k);
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", k ? " " : "",
                     (long long)json_integer_value(json_object_get(t, "id")));
            int is_special = special && (k == 0 || k + 1 == json_array_size(tokens));
            cr_expect_eq(json_is_true(json_object_get(t, "special")), is_special, "token %zu", k);
        }
        char *want_ids = strdup(ids);
        want_ids[strcspn(want_ids, "\n")] = 0;
        if (!special) {  /* drop the first and the last id */
            char *last = strrchr(want_ids, ' ');
            *last = 0;
            memmove(want_ids, strchr(want_ids, ' ') + 1, strlen(strchr(want_ids, ' ') + 1) + 1);
        }
        cr_expect_str_eq(got, want_ids);
        free(want_ids);
        json_decref(root);
        resp_free(&r);
    }
    free(ids);

    /* start/stop: albertc tokenize --offsets' byte offsets; text: those bytes of
     * the input; a special token written in the text is not special (TEI's
     * special_tokens_mask); no length limit (TEI's /tokenize does not truncate) */
    const char *tricky = "Caf\u00e9 ''x'' [CLS] \u00bd";
    char in_line[256];
    snprintf(in_line, sizeof in_line, "{\"text\": \"%s\"}\n", tricky);
    char *tpath = strdup(test_tmp_path("tricky.jsonl"));
    test_write_file(tpath, in_line, strlen(in_line));
    snprintf(args, sizeof args, "tokenize --model %s --jsonl --offsets < %s", model, tpath);
    char *want_line = albertc_out(args);
    json_t *want_tok = json_loads(want_line, JSON_DISABLE_EOF_CHECK, NULL);
    cr_assert(want_tok, "%s", want_line);
    free(want_line);
    snprintf(body, sizeof body, "{\"inputs\": \"%s\"}", tricky);
    r = post(s.port, "/tokenize", body);
    cr_expect_eq(r.status, 200, "%s", r.body.data);
    json_t *got_root = resp_json(&r), *got_tok = json_array_get(got_root, 0),
           *want_ids = json_object_get(want_tok, "input_ids"), *want_off = json_object_get(want_tok, "offsets");
    const char *decoded = "Caf\xc3\xa9 ''x'' [CLS] \xc2\xbd";
    cr_assert_eq(json_array_size(got_tok), json_array_size(want_ids));
    for (size_t k = 0; k < json_array_size(got_tok); k++) {
        json_t *t = json_array_get(got_tok, k), *off = json_array_get(want_off, k);
        int edge = k == 0 || k + 1 == json_array_size(got_tok);
        cr_expect_eq(json_integer_value(json_object_get(t, "id")), json_integer_value(json_array_get(want_ids, k)));
        cr_expect_eq(json_is_true(json_object_get(t, "special")), edge, "token %zu", k);
        if (edge) {
            cr_expect(json_is_null(json_object_get(t, "start")) && json_is_null(json_object_get(t, "stop")));
            continue;
        }
        long start = (long)json_integer_value(json_object_get(t, "start")), stop = (long)json_integer_value(json_object_get(t, "stop"));
        cr_expect_eq(start, json_integer_value(json_array_get(off, 0)), "token %zu", k);
        cr_expect_eq(stop, json_integer_value(json_array_get(off, 1)), "token %zu", k);
        cr_expect_eq(strlen(json_string_value(json_object_get(t, "text"))), (size_t)(stop - start));
        cr_expect_eq(strncmp(json_string_value(json_object_get(t, "text")), decoded + start, (size_t)(stop - start)), 0);
    }
    json_decref(got_root);
    json_decref(want_tok);
    resp_free(&r);
    free(tpath);

    r = post(s.port, "/decode", "{\"ids\": [2, 10975, 126, 3]}");
    cr_expect_str_eq(r.body.data, "[\"hello world\"]");
    resp_free(&r);
    r = post(s.port, "/decode", "{\"ids\": [[2, 10975, 3], [126]], \"skip_special_tokens\": false}");
    cr_expect_str_eq(r.body.data, "[\"[CLS] hello[SEP]\",\"world\"]");
    resp_free(&r);

    r = http(s.port, "/info", NULL, 0, NULL);
    cr_expect_eq(r.status, 200);
    json_t *info = resp_json(&r);
    json_t *classifier = json_object_get(json_object_get(info, "model_type"), "classifier");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(classifier, "id2label"), "0")), TINY_LABELS[0]);
    cr_expect_eq(json_integer_value(json_object_get(info, "max_client_batch_size")), 32);
    cr_expect_eq(json_integer_value(json_object_get(info, "max_batch_tokens")), 16384);
    cr_expect_gt(json_integer_value(json_object_get(info, "max_input_length")), 2);
    /* ours: the engine computing, and the one the head learnt from (this machine's: no warning) */
    const char *engine = json_string_value(json_object_get(info, "engine"));
    cr_expect(engine && !strncmp(engine, "float32/", 8), "engine %s", engine ? engine : "(none)");
    cr_expect_str_eq(json_string_value(json_object_get(info, "trained_engine")), engine ? engine : "");
    cr_expect_null(strstr(s.startup, "trained on features"), "%s", s.startup);
    json_decref(info);
    resp_free(&r);
    r = http(s.port, "/health", NULL, 0, NULL);
    cr_expect_eq(r.status, 200);
    resp_free(&r);
    expect_metrics(s.port, (const char *const[]){"te_request_count ", "te_request_success ",
                                                 "te_request_failure{err=\"validation\"} 0", "te_request_duration_bucket{le=",
                                                 "te_request_queue_duration_sum", "te_request_inference_duration_count",
                                                 "te_queue_size 0", "te_batch_next_size 0", "te_batch_next_tokens 0", NULL});
    cr_expect_eq(stop_server(&s, SIGTERM), 0);
}

/* The answers /predict gives n sequences sent in one request (raw scores),
 * computed here through the library: pairs[i] NULL is a single text; a pair's
 * token types go to the encoder; the batch is the one request's. */
static char *pipeline_answers(Classifier *c, int n, const char *const *texts, const char *const *pairs) {
    TokenIds ids[4] = {{0}};
    EncodeSeq seqs[4];
    cr_assert_leq(n, 4);
    for (int i = 0; i < n; i++) {
        if (pairs[i]) tokenizer_encode_pair(c->tok, texts[i], strlen(texts[i]), pairs[i], strlen(pairs[i]), 0, &ids[i]);
        else tokenizer_encode(c->tok, texts[i], strlen(texts[i]), 0, &ids[i]);
        seqs[i] = (EncodeSeq){.n = ids[i].n, .ids = ids[i].ids, .type_ids = ids[i].type_ids};
    }
    int H = albert_config(c->encoder)->hidden_size;
    float *features = malloc(sizeof(float) * (size_t)(n * H)), *logits = malloc(sizeof(float) * (size_t)(n * c->num_labels));
    AlbError err;
    cr_assert_eq(classifier_features_seqs(c, seqs, n, features, &err), 0, "%s", err.msg);
    classifier_head_logits(c, features, n, logits);
    json_t *all = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(all, classifier_scores_json(c, logits + i * c->num_labels, 0, 1));
    char *text = json_dumps(n == 1 ? json_array_get(all, 0) : all, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    json_decref(all);
    free(features);
    free(logits);
    for (int i = 0; i < n; i++) token_ids_free(&ids[i]);
    return text;
}

/* Sentence pairs on /predict, as TEI reads them: [a, b] is one pair answered
 * unwrapped, [[a, b], [c], ...] a batch of pairs and texts. Each answer is the
 * pipeline's for [CLS] a [SEP] b [SEP] with token types 0..0 1..1 (not the
 * text "a b"); truncation is longest first. */
Test(serve, sentence_pairs) {
    ServerProc s = start_tiny("");
    Classifier c;
    AlbError err;
    cr_assert_eq(classifier_load(&c, test_tmp_path("run/model"), NULL, 1, &err), 0, "%s", err.msg);
    char joined[256];
    snprintf(joined, sizeof joined, "%s %s", TEXTS[0], TEXTS[1]);
    char *ab = pipeline_answers(&c, 1, (const char *[]){TEXTS[0]}, (const char *[]){TEXTS[1]});
    char *ba = pipeline_answers(&c, 1, (const char *[]){TEXTS[1]}, (const char *[]){TEXTS[0]});
    char *as_text = pipeline_answers(&c, 1, (const char *[]){joined}, (const char *[]){NULL});
    char *batch = pipeline_answers(&c, 3, (const char *[]){TEXTS[0], TEXTS[2], TEXTS[1]},
                                   (const char *[]){TEXTS[1], NULL, TEXTS[0]});
    char *alone = pipeline_answers(&c, 1, (const char *[]){TEXTS[2]}, (const char *[]){NULL});
    cr_expect_str_neq(ab, as_text);
    cr_expect_str_neq(ab, ba);

    char body[2048];
    snprintf(body, sizeof body, "{\"inputs\": [\"%s\", \"%s\"], \"raw_scores\": true}", TEXTS[0], TEXTS[1]);
    Resp r = post(s.port, "/predict", body);
    cr_expect_eq(r.status, 200, "%s", r.body.data);
    cr_expect_str_eq(r.body.data, ab);
    cr_expect(strstr(r.headers.data, "x-compute-tokens: 19"), "%s", r.headers.data);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"inputs\": [[\"%s\", \"%s\"], [\"%s\"], [\"%s\", \"%s\"]], \"raw_scores\": true}",
             TEXTS[0], TEXTS[1], TEXTS[2], TEXTS[1], TEXTS[0]);
    r = post(s.port, "/predict", body);
    cr_expect_eq(r.status, 200, "%s", r.body.data);
    cr_expect_str_eq(r.body.data, batch);
    resp_free(&r);
    /* [text]: one input, answered unwrapped */
    snprintf(body, sizeof body, "{\"inputs\": [\"%s\"], \"raw_scores\": true}", TEXTS[2]);
    r = post(s.port, "/predict", body);
    cr_expect_str_eq(r.body.data, alone);
    resp_free(&r);

    /* a pair over max_input_length: refused, or truncated longest first */
    int n = snprintf(body, sizeof body, "{\"inputs\": [\"short one\", \"");
    for (int i = 0; i < 150; i++) n += snprintf(body + n, sizeof body - (size_t)n, "card ");
    snprintf(body + n, sizeof body - (size_t)n, "\"]}");
    expect_error(s.port, "/predict", body, 422, "Validation", "must have less than");
    snprintf(body + n, sizeof body - (size_t)n, "\"], \"truncate\": true}");
    r = post(s.port, "/predict", body);
    cr_expect_eq(r.status, 200, "%s", r.body.data);
    char tokens[64];
    snprintf(tokens, sizeof tokens, "x-compute-tokens: %d\r", c.max_length);
    cr_expect(strstr(r.headers.data, tokens), "%s: %s", tokens, r.headers.data);
    resp_free(&r);

    free(ab);
    free(ba);
    free(as_text);
    free(batch);
    free(alone);
    classifier_free(&c);
    cr_expect_eq(stop_server(&s, SIGTERM), 0);
}

/* Every TEI error, the payload limit exactly and one byte over, 404 / 405. */
Test(serve, errors) {
    ServerProc s = start_tiny("--max-client-batch-size 2 --payload-limit 1000");
    expect_error(s.port, "/predict", "{\"inputs\": \"a\"", 422, "Validation", "invalid JSON");
    expect_error(s.port, "/predict", "[1]", 422, "Validation", "expected a JSON object");
    expect_error(s.port, "/predict", "{\"text\": \"a\"}", 422, "Validation", "`inputs`");
    expect_error(s.port, "/predict", "{\"inputs\": 5}", 422, "Validation", "inputs");
    expect_error(s.port, "/embed", "{\"inputs\": [\"a\", 5]}", 422, "Validation", "inputs[1]");
    expect_error(s.port, "/embed", "{\"inputs\": [[\"a\", \"b\"]]}", 422, "Validation", "/predict only");
    expect_error(s.port, "/predict", "{\"inputs\": [\"a\", \"b\", \"c\"]}", 422, "Validation", "inputs: 3 strings");
    expect_error(s.port, "/predict", "{\"inputs\": [[\"a\", \"b\", \"c\"]]}", 422, "Validation", "inputs[0]: 3 strings");
    expect_error(s.port, "/predict", "{\"inputs\": [[]]}", 422, "Validation", "inputs[0]: 0 strings");
    expect_error(s.port, "/predict", "{\"inputs\": [[\"a\"], \"b\"]}", 422, "Validation", "inputs[1]");
    expect_error(s.port, "/predict", "{\"inputs\": [\"a\", 5]}", 422, "Validation", "inputs[1]");
    expect_error(s.port, "/predict", "{\"inputs\": \"a\", \"truncate\": 1}", 422, "Validation", "truncate");
    expect_error(s.port, "/embed", "{\"inputs\": \"a\", \"normalize\": \"yes\"}", 422, "Validation", "normalize");
    expect_error(s.port, "/predict", "{\"inputs\": []}", 400, "Empty", "cannot be empty");
    expect_error(s.port, "/decode", "{\"ids\": []}", 400, "Empty", "cannot be empty");
    expect_error(s.port, "/decode", "{\"ids\": [2, 99999999]}", 422, "Validation", "ids[1]");
    expect_error(s.port, "/decode", "{\"ids\": [[2], 3]}", 422, "Validation", "ids[1]");
    expect_error(s.port, "/predict", "{\"inputs\": [[\"a\"], [\"b\"], [\"c\", \"d\"]]}", 422, "Validation",
                 "batch size 3 > maximum allowed batch size 2");
    /* over max_input_length tokens: refused unless truncated */
    char body[1000];
    int n = snprintf(body, sizeof body, "{\"inputs\": \"");
    for (int i = 0; i < 150; i++) n += snprintf(body + n, sizeof body - (size_t)n, "card ");
    snprintf(body + n, sizeof body - (size_t)n, "\"}");
    expect_error(s.port, "/predict", body, 422, "Validation", "must have less than");
    Resp r = post(s.port, "/tokenize", body);  /* TEI's /tokenize has no length limit */
    cr_expect_eq(r.status, 200, "%s", r.body.data);
    resp_free(&r);
    snprintf(body + n, sizeof body - (size_t)n, "\", \"truncate\": true}");
    r = post(s.port, "/predict", body);
    cr_expect_eq(r.status, 200, "%s", r.body.data);
    resp_free(&r);
    /* a body of exactly --payload-limit bytes is read; one more byte is 413 */
    memset(body, ' ', sizeof body);
    memcpy(body, "{\"inputs\": \"card\"", 17);
    body[999] = '}';
    r = http(s.port, "/predict", body, 1000, NULL);
    cr_expect_eq(r.status, 200, "%s", r.body.data);
    resp_free(&r);
    char over[1001];
    memcpy(over, body, 999);
    over[999] = ' ';
    over[1000] = '}';
    r = http(s.port, "/predict", over, 1001, NULL);
    cr_expect_eq(r.status, 413, "%s", r.body.data);
    resp_free(&r);
    /* and the same without a Content-Length (chunked) */
    r = http(s.port, "/predict", over, 1001, "Transfer-Encoding: chunked");
    cr_expect_eq(r.status, 413, "chunked: %s", r.body.data);
    resp_free(&r);
    r = http(s.port, "/nowhere", NULL, 0, NULL);
    cr_expect_eq(r.status, 404);
    resp_free(&r);
    r = http(s.port, "/predict", NULL, 0, NULL);
    cr_expect_eq(r.status, 405);
    resp_free(&r);
    expect_metrics(s.port, (const char *const[]){"te_request_failure{err=\"validation\"} 17\n",
                                                 "te_request_failure{err=\"empty\"} 2\n", NULL});
    cr_expect_eq(stop_server(&s, SIGTERM), 0);
}

/* --api-key: a bearer token on every route but /health and /metrics. */
Test(serve, api_key) {
    ServerProc s = start_tiny("--api-key s3cret");
    const char *body = "{\"inputs\": \"card\"}";
    const struct {
        const char *path, *header;
        long status;
    } cases[] = {{"/predict", NULL, 401},
                 {"/predict", "Authorization: Bearer wrong", 401},
                 {"/predict", "Authorization: s3cret", 401},
                 {"/predict", "Authorization: Bearer s3cret", 200},
                 {"/info", NULL, 401},
                 {"/health", NULL, 200},
                 {"/metrics", NULL, 200}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int is_post = !strcmp(cases[i].path, "/predict");
        Resp r = http(s.port, cases[i].path, is_post ? body : NULL, is_post ? strlen(body) : 0, cases[i].header);
        cr_expect_eq(r.status, cases[i].status, "%s %s: %ld", cases[i].path, cases[i].header, r.status);
        resp_free(&r);
    }
    cr_expect_eq(stop_server(&s, SIGINT), 0);
}

/* A plain encoder: /embed and / embed, /predict is TEI's Backend error. */
Test(serve, plain_encoder) {
    tiny_classifier_train();
    ServerProc s = start_server(test_tmp_path("encoder"), "");
    expect_error(s.port, "/predict", "{\"inputs\": \"card\"}", 424, "Backend", "not a classifier");
    Resp a = post(s.port, "/embed", "{\"inputs\": [\"card\"]}"), b = post(s.port, "/", "{\"inputs\": \"card\"}");
    cr_expect_eq(a.status, 200);
    cr_expect_str_eq(a.body.data, b.body.data);
    resp_free(&a);
    resp_free(&b);
    Resp r = http(s.port, "/info", NULL, 0, NULL);
    json_t *info = resp_json(&r);
    cr_expect_str_eq(
        json_string_value(json_object_get(json_object_get(json_object_get(info, "model_type"), "embedding"), "pooling")),
        "cls");
    cr_expect(json_is_null(json_object_get(info, "trained_engine")));  /* no head: nothing learnt */
    json_decref(info);
    resp_free(&r);
    cr_expect_eq(stop_server(&s, SIGTERM), 0);
}

/* ------------------------------------------------------------------ many clients */

#define CLIENTS 200

typedef struct {
    int port, index;
    pthread_barrier_t *start;
    const char *body;
    Resp r;
} Client;

static void *client(void *arg) {
    Client *c = arg;
    pthread_barrier_wait(c->start);
    c->r = post(c->port, "/predict", c->body);
    return NULL;
}

/* Runs n clients at once, each posting bodies[i]. */
static void run_clients(int port, int n, char **bodies, Client *clients) {
    pthread_t threads[CLIENTS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        clients[i] = (Client){.port = port, .index = i, .start = &start, .body = bodies[i]};
        cr_assert_eq(pthread_create(&threads[i], NULL, client, &clients[i]), 0);
    }
    for (int i = 0; i < n; i++) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
}

/* The texts of test.jsonl (tiny_classifier_train's 40). */
static int read_texts(char **texts, int max) {
    FILE *fp = fopen(test_tmp_path("test.jsonl"), "r");
    cr_assert(fp);
    char line[4096];
    int n = 0;
    while (n < max && fgets(line, sizeof line, fp)) {
        json_t *o = json_loads(line, 0, NULL);
        texts[n++] = strdup(json_string_value(json_object_get(o, "text")));
        json_decref(o);
    }
    fclose(fp);
    return n;
}

/* 200 clients at once, every fourth request invalid: each answer is its own
 * input's (predict's scores for that text, to rounding: its batch companions
 * change the GEMM shapes), every invalid one a 422, nothing lost. */
Test(serve, concurrent_clients_get_their_own_answers) {
    tiny_classifier_train();
    const char *model = test_tmp_path("run/model");
    char *texts[40];
    int n_texts = read_texts(texts, 40);
    cr_assert_eq(n_texts, 40);
    char args[4096];
    snprintf(args, sizeof args, "predict --model %s --top-k 0 --input %s", model, test_tmp_path("test.jsonl"));
    char *lines = albertc_out(args);
    json_t *want[40];
    char *p = lines;
    for (int i = 0; i < 40; i++) {
        want[i] = json_loadb(p, strcspn(p, "\n"), 0, NULL);
        cr_assert(want[i]);
        p += strcspn(p, "\n") + 1;
    }
    free(lines);
    ServerProc s = start_server(model, "");
    char *bodies[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        json_t *b = i % 4 == 3 ? json_pack("{s:i}", "inputs", i) : json_pack("{s:s}", "inputs", texts[i % 40]);
        bodies[i] = json_dumps(b, JSON_COMPACT);
        json_decref(b);
    }
    static Client clients[CLIENTS];
    run_clients(s.port, CLIENTS, bodies, clients);
    for (int i = 0; i < CLIENTS; i++) {
        Resp *r = &clients[i].r;
        cr_assert_eq(r->rc, CURLE_OK, "client %d: %s", i, curl_easy_strerror(r->rc));
        json_t *got = resp_json(r);
        if (i % 4 == 3) {
            cr_expect_eq(r->status, 422, "client %d: %s", i, r->body.data);
        } else {
            cr_expect_eq(r->status, 200, "client %d: %s", i, r->body.data);
            json_t *w = want[i % 40];
            cr_assert_eq(json_array_size(got), json_array_size(w), "client %d: %s", i, r->body.data);
            for (size_t k = 0; k < json_array_size(w); k++) {
                /* by label: ties in rounding may swap neighbours */
                const char *label = json_string_value(json_object_get(json_array_get(w, k), "label"));
                double ws = json_number_value(json_object_get(json_array_get(w, k), "score")), gs = -1;
                for (size_t m = 0; m < json_array_size(got); m++)
                    if (!strcmp(json_string_value(json_object_get(json_array_get(got, m), "label")), label))
                        gs = json_number_value(json_object_get(json_array_get(got, m), "score"));
                cr_expect(fabs(gs - ws) <= 1e-5 + 1e-4 * fabs(ws), "client %d (text %d) %s: %.9g vs predict's %.9g", i,
                          i % 40, label, gs, ws);
            }
        }
        json_decref(got);
        resp_free(r);
        free(bodies[i]);
    }
    for (int i = 0; i < 40; i++) {
        json_decref(want[i]);
        free(texts[i]);
    }
    expect_metrics(s.port, (const char *const[]){"te_request_success 150\n",
                                                 "te_request_failure{err=\"validation\"} 50\n", NULL});
    cr_expect_eq(stop_server(&s, SIGTERM), 0);
}

/* --max-concurrent-requests 1 and 64 clients at once with 32 texts each:
 * every answer is 200 or TEI's 429 Overloaded, and some are each. */
Test(serve, overloaded) {
    ServerProc s = start_tiny("--max-concurrent-requests 1");
    char *texts[40];
    cr_assert_eq(read_texts(texts, 40), 40);
    json_t *inputs = json_array();
    for (int i = 0; i < 32; i++) json_array_append_new(inputs, json_pack("[s]", texts[i]));
    json_t *b = json_pack("{s:o}", "inputs", inputs);
    char *body = json_dumps(b, JSON_COMPACT), *bodies[64];
    json_decref(b);
    for (int i = 0; i < 64; i++) bodies[i] = body;
    static Client clients[64];
    run_clients(s.port, 64, bodies, clients);
    int ok = 0, overloaded = 0;
    for (int i = 0; i < 64; i++) {
        Resp *r = &clients[i].r;
        cr_expect(r->status == 200 || r->status == 429, "client %d: %ld %s", i, r->status, r->body.data);
        ok += r->status == 200;
        if (r->status == 429) {
            overloaded++;
            cr_expect(strstr(r->body.data, "\"error_type\":\"Overloaded\""), "%s", r->body.data);
        }
        resp_free(r);
    }
    cr_log_info("serve overloaded: %d answered, %d overloaded", ok, overloaded);
    cr_expect(ok > 0 && overloaded > 0, "%d answered, %d overloaded", ok, overloaded);
    free(body);
    for (int i = 0; i < 40; i++) free(texts[i]);
    cr_expect_eq(stop_server(&s, SIGTERM), 0);
}

/* ------------------------------------------------------------------ raw sockets */

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    struct timeval tv = {.tv_sec = 20};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

static const char HALF[] = "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Content-Length: 18\r\n\r\n{\"inputs\":";
static const char REST[] = " \"card\"}";

/* A client that sends half a request and stalls is closed after --timeout;
 * the others are answered meanwhile. */
Test(serve, stalled_half_request) {
    ServerProc s = start_tiny("--timeout 1");
    int fd = connect_to(s.port);
    cr_assert_geq(fd, 0);
    cr_assert_eq(send(fd, HALF, strlen(HALF), 0), (ssize_t)strlen(HALF));
    double t0 = now_s();
    Resp r = post(s.port, "/predict", "{\"inputs\": \"card\"}");
    cr_expect_eq(r.status, 200);
    resp_free(&r);
    char buf[256];
    ssize_t got = recv(fd, buf, sizeof buf, 0);
    int e = errno;
    double waited = now_s() - t0;
    cr_expect(got == 0 || (got < 0 && e == ECONNRESET), "the stalled connection: recv %zd (%s)", got, strerror(e));
    cr_expect(waited < 10, "closed after %.1f s", waited);
    close(fd);
    cr_expect_eq(stop_server(&s, SIGTERM), 0);
}

/* SIGTERM with a request half read: no new connection is accepted, the
 * request still gets its answer, then the server exits 0. */
Test(serve, graceful_stop_answers_requests_in_flight) {
    ServerProc s = start_tiny("");
    int fd = connect_to(s.port);
    cr_assert_geq(fd, 0);
    cr_assert_eq(send(fd, HALF, strlen(HALF), 0), (ssize_t)strlen(HALF));
    usleep(200000);
    kill(s.pid, SIGTERM);
    int refused = 0;
    for (double t0 = now_s(); !refused && now_s() - t0 < DEADLINE_S; usleep(20000)) {
        int other = connect_to(s.port);
        refused = other < 0;
        if (other >= 0) close(other);
    }
    cr_expect(refused, "new connections still accepted after SIGTERM");
    cr_assert_eq(send(fd, REST, strlen(REST), 0), (ssize_t)strlen(REST));
    char buf[4096];
    size_t n = 0;
    for (ssize_t got; n < sizeof buf - 1 && (got = recv(fd, buf + n, sizeof buf - 1 - n, 0)) > 0;) {
        n += (size_t)got;
        buf[n] = 0;
        if (strstr(buf, "\r\n\r\n") && strstr(buf, "}]")) break;
    }
    buf[n] = 0;
    cr_expect(!strncmp(buf, "HTTP/1.1 200", 12), "the request in flight got: %s", buf);
    cr_expect(strstr(buf, "\"label\""), "%s", buf);
    close(fd);
    cr_expect_eq(stop_server(&s, 0), 0);
}

/* A classifier trained on another engine's features (another machine's):
 * served, with the warning predict and eval print, and both engines in /info. */
Test(serve, another_engine_warns_and_serves) {
    tiny_classifier_train();
    json_error_t e;
    json_t *config = json_load_file(test_tmp_path("run/model/config.json"), 0, &e);
    cr_assert(config, "%s", e.text);
    json_object_set_new(json_object_get(config, "albertc"), "engine", json_string("float32/elsewhere"));
    cr_assert_eq(json_dump_file(config, test_tmp_path("run/model/config.json"), 0), 0);
    json_decref(config);
    ServerProc s = start_server(test_tmp_path("run/model"), "");
    cr_expect(strstr(s.startup, "albertc serve: warning: this classifier was trained on features from "
                                "float32/elsewhere; this machine computes float32/"),
              "%s", s.startup);
    Resp r = http(s.port, "/info", NULL, 0, NULL);
    json_t *info = resp_json(&r);
    cr_expect_str_eq(json_string_value(json_object_get(info, "trained_engine")), "float32/elsewhere");
    cr_expect(strstr(s.startup, json_string_value(json_object_get(info, "engine"))), "%s", s.startup);
    json_decref(info);
    resp_free(&r);
    r = post(s.port, "/predict", "{\"inputs\": \"card\"}");
    cr_expect_eq(r.status, 200);
    resp_free(&r);
    cr_expect_eq(stop_server(&s, SIGTERM), 0);
}
