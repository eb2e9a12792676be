/* A tiny trained classifier for the tests that need one (test_classifier.c,
 * test_serve.c): a random tiny encoder, 4 Banking77 intents, albertc train. */
#ifndef ALB_TESTS_TINY_CLASSIFIER_H
#define ALB_TESTS_TINY_CLASSIFIER_H

extern const char *const TINY_LABELS[4];

/* Writes into test_tmp_dir: encoder/, train.jsonl, test.jsonl, labels.txt,
 * run/ (trained; run/model/ the classifier directory), cache/. */
void tiny_classifier_train(void);

#endif
