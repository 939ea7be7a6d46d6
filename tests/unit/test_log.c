#include <stdio.h>

#include "test.h"
#include "util/log.h"

static struct {
    int calls;
    pkc_log_level level;
    char subsystem[32];
    char message[2048];
} got;

static void capture(void *ud, pkc_log_level level, const char *subsystem, const char *message)
{
    CHECK(ud == &got);
    got.calls++;
    got.level = level;
    snprintf(got.subsystem, sizeof got.subsystem, "%s", subsystem);
    snprintf(got.message, sizeof got.message, "%s", message);
}

TEST(log, handler_receives_enabled_levels_only)
{
    memset(&got, 0, sizeof got);
    pkc_log_set_handler(capture, &got);
    pkc_log_set_level(PKC_LOG_INFO);
    pkc_logi("test", "hello %d", 42);
    CHECK_EQ(got.calls, 1);
    CHECK_EQ(got.level, PKC_LOG_INFO);
    CHECK_STR(got.subsystem, "test");
    CHECK_STR(got.message, "hello 42");
    pkc_logd("test", "not shown");
    CHECK_EQ(got.calls, 1);
    pkc_loge("test", "shown");
    CHECK_EQ(got.calls, 2);
    pkc_log_set_handler(NULL, NULL);
    pkc_log_set_level(PKC_LOG_WARN);
}

TEST(log, disabled_levels_do_not_evaluate_arguments)
{
    int evaluated = 0;
    pkc_log_set_level(PKC_LOG_ERROR);
    pkc_logd("test", "%d", ++evaluated);
    CHECK_EQ(evaluated, 0);
    pkc_log_set_level(PKC_LOG_WARN);
}

TEST(log, messages_are_one_line_and_bounded)
{
    memset(&got, 0, sizeof got);
    pkc_log_set_handler(capture, &got);
    pkc_logw("peer", "line1\nforged\rline");
    CHECK_STR(got.message, "line1 forged line");
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    pkc_logw("peer", "%s", big);
    CHECK(strlen(got.message) < 1024);
    CHECK(strcmp(got.message + strlen(got.message) - 3, "...") == 0);
    pkc_log_set_handler(NULL, NULL);
}

TEST(log, level_names_parse_both_ways)
{
    pkc_log_level l;
    for (int i = PKC_LOG_ERROR; i <= PKC_LOG_TRACE; i++) {
        CHECK_OK(pkc_log_level_parse(pkc_log_level_name((pkc_log_level)i), &l));
        CHECK_EQ(l, i);
    }
    CHECK_OK(pkc_log_level_parse("DEBUG", &l));
    CHECK_EQ(l, PKC_LOG_DEBUG);
    CHECK_OK(pkc_log_level_parse("warning", &l));
    CHECK_EQ(l, PKC_LOG_WARN);
    CHECK_OK(pkc_log_level_parse("4", &l));
    CHECK_EQ(l, PKC_LOG_TRACE);
    CHECK_ERR(pkc_log_level_parse("loud", &l), PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_log_level_parse("5", &l), PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_log_level_parse("", &l), PKC_ERR_INVALID_ARG);
    CHECK_STR(pkc_log_level_name((pkc_log_level)9), "?");
}

TEST(log, set_level_clamps)
{
    pkc_log_set_level((pkc_log_level)99);
    CHECK_EQ(pkc_log_get_level(), PKC_LOG_TRACE);
    pkc_log_set_level((pkc_log_level)-3);
    CHECK_EQ(pkc_log_get_level(), PKC_LOG_ERROR);
    pkc_log_set_level(PKC_LOG_WARN);
}
