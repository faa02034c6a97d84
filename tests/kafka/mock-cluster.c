/*
 * mock-cluster: librdkafka's own Kafka broker implementation (rdkafka_mock.h),
 * a real Kafka protocol server on 127.0.0.1, for tests and the benchmark.
 *
 * usage: mock-cluster [BROKERS]        (default 3)
 * Prints the bootstrap servers on the first line, then reads commands on
 * stdin, one a line, answering "ok" or "error: ..." to each:
 *   topic NAME PARTITIONS     create a topic (replication = brokers)
 *   down [ID] | up [ID]       take every broker (or broker ID) down / up
 *   errors APIKEY ERR...      the next requests of APIKEY (0 = Produce)
 *                             fail with these error codes, in order
 * EOF or "quit" stops the cluster.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_ERRORS 64

static int
cmd_errors(rd_kafka_mock_cluster_t *mc, char *args)
{
	rd_kafka_resp_err_t errs[MAX_ERRORS];
	size_t n = 0;
	char *tok = strtok(args, " \t\n");
	int apikey;

	if (tok == NULL)
		return -1;
	apikey = atoi(tok);
	while ((tok = strtok(NULL, " \t\n")) != NULL && n < MAX_ERRORS)
		errs[n++] = (rd_kafka_resp_err_t)atoi(tok);
	if (n == 0)
		return -1;
	rd_kafka_mock_push_request_errors_array(mc, (int16_t)apikey, n, errs);
	return 0;
}

static int
command(rd_kafka_mock_cluster_t *mc, int brokers, char *line)
{
	char name[256];
	int a = -1;

	if (sscanf(line, "topic %255s %d", name, &a) == 2)
		return rd_kafka_mock_topic_create(mc, name, a, brokers) ? -1 : 0;
	if (strncmp(line, "down", 4) == 0) {
		sscanf(line + 4, "%d", &a);
		return rd_kafka_mock_broker_set_down(mc, a) ? -1 : 0;
	}
	if (strncmp(line, "up", 2) == 0) {
		sscanf(line + 2, "%d", &a);
		return rd_kafka_mock_broker_set_up(mc, a) ? -1 : 0;
	}
	if (strncmp(line, "errors ", 7) == 0)
		return cmd_errors(mc, line + 7);
	return -1;
}

int
main(int argc, char **argv)
{
	int brokers = argc > 1 ? atoi(argv[1]) : 3;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512], line[1024];
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_t *rk;

	/* the mock cluster needs a client instance for its bookkeeping;
	 * one without brokers of its own, which it need not warn about */
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr,
	    sizeof(errstr))) == NULL) {
		fprintf(stderr, "mock-cluster: %s\n", errstr);
		return 1;
	}
	if ((mc = rd_kafka_mock_cluster_new(rk, brokers)) == NULL) {
		fprintf(stderr, "mock-cluster: cannot start\n");
		rd_kafka_destroy(rk);
		return 1;
	}
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (strncmp(line, "quit", 4) == 0)
			break;
		printf(command(mc, brokers, line) == 0 ? "ok\n" :
		    "error: bad command\n");
		fflush(stdout);
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
