-- netflowd -> Kafka -> current ClickHouse (22.3 and later: DateTime64,
-- LowCardinality, TTL, format settings in the Kafka table's SETTINGS).
-- For Debian 12's clickhouse-server 18.16 use 18.16/flows.sql instead (that
-- one is what the test suite runs: tests/clickhouse/test_clickhouse.py).
--
-- Also install config.d/netflowd-kafka.xml into /etc/clickhouse-server/
-- config.d/ (read at the server's start): a new consumer group then starts
-- at the beginning of the topic (auto_offset_reset = earliest) instead of
-- its end, where it would silently skip what netflowd produced before the
-- table existed.
--
-- Each netflowd line is one of three kinds, told apart by "type":
--   absent            a flow (NetFlow/IPFIX) or an sFlow flow sample -> flows
--   "options"         v9/IPFIX options data                          -> flow_options
--   "counters"        sFlow counter samples                          -> flow_counters
-- netflowd already applies what options announce (sampling interval,
-- interface names, system init time) to the flows that follow them.
-- "format" is "sflow" on sFlow lines and empty on NetFlow/IPFIX, so an
-- sFlow sample (version 5) is never mistaken for a NetFlow v5 flow.
-- bytes/packets are as exported; multiply by sampling_interval (when > 1)
-- for the traffic they stand for, as netflow-analyze does.
--
-- Replace the broker list and topic with yours; kafka_num_consumers up to
-- the topic's partitions. netflowd's [kafka] options_topic, when set, sends
-- the options records to a topic of their own: add it to kafka_topic_list
-- (comma-separated) to keep them.

CREATE TABLE flows_queue (
    time_received DateTime64(3, 'UTC'),
    exporter LowCardinality(String), exporter_port UInt16,
    version UInt8, `format` LowCardinality(String), `type` LowCardinality(String),
    agent LowCardinality(String), domain UInt32,
    start DateTime64(3, 'UTC'), `end` DateTime64(3, 'UTC'),
    src_addr String, dst_addr String,
    src_port UInt16, dst_port UInt16, proto UInt8,
    icmp_type UInt8, icmp_code UInt8,
    bytes UInt64, packets UInt64,
    tcp_flags UInt16, tos UInt8, in_if UInt32, out_if UInt32,
    next_hop String, src_as UInt32, dst_as UInt32,
    src_mask UInt8, dst_mask UInt8, sampling_interval UInt32,
    in_if_name LowCardinality(String), out_if_name LowCardinality(String),
    -- options records
    template_id UInt16, samplingInterval UInt32, samplingPacketInterval UInt32,
    interfaceName String, interfaceDescription String,
    systemInitTimeMilliseconds DateTime64(3, 'UTC'),
    -- sFlow counter samples (generic interface counters)
    source_id_type UInt8, source_id_index UInt32,
    if_index UInt32, if_type UInt32, if_speed UInt64, if_direction UInt32,
    if_status UInt32,
    if_in_octets UInt64, if_in_ucast_pkts UInt32, if_in_multicast_pkts UInt32,
    if_in_broadcast_pkts UInt32, if_in_discards UInt32, if_in_errors UInt32,
    if_out_octets UInt64, if_out_ucast_pkts UInt32, if_out_multicast_pkts UInt32,
    if_out_broadcast_pkts UInt32, if_out_discards UInt32, if_out_errors UInt32
) ENGINE = Kafka
SETTINGS kafka_broker_list = 'kafka1:9092,kafka2:9092,kafka3:9092',
         kafka_topic_list = 'flows',
         kafka_group_name = 'clickhouse-flows',
         kafka_format = 'JSONEachRow',
         kafka_num_consumers = 3,
         -- netflowd writes IANA-named and enterprise elements too
         input_format_skip_unknown_fields = 1,
         -- "2024-05-01T12:00:00.180Z"
         date_time_input_format = 'best_effort';

CREATE TABLE flows (
    time_received DateTime64(3, 'UTC'),
    exporter LowCardinality(String), exporter_port UInt16,
    version UInt8, `format` LowCardinality(String),
    agent LowCardinality(String), domain UInt32,
    start DateTime64(3, 'UTC'), `end` DateTime64(3, 'UTC'),
    src_addr String, dst_addr String,
    src_port UInt16, dst_port UInt16, proto UInt8,
    icmp_type UInt8, icmp_code UInt8,
    bytes UInt64, packets UInt64,
    tcp_flags UInt16, tos UInt8, in_if UInt32, out_if UInt32,
    next_hop String, src_as UInt32, dst_as UInt32,
    src_mask UInt8, dst_mask UInt8, sampling_interval UInt32,
    in_if_name LowCardinality(String), out_if_name LowCardinality(String)
) ENGINE = MergeTree
PARTITION BY toDate(time_received)
ORDER BY (exporter, time_received)
TTL toDateTime(time_received) + INTERVAL 30 DAY;

CREATE TABLE flow_options (
    time_received DateTime64(3, 'UTC'),
    exporter LowCardinality(String), exporter_port UInt16, version UInt8,
    domain UInt32, template_id UInt16,
    samplingInterval UInt32, samplingPacketInterval UInt32,
    interfaceName String, interfaceDescription String,
    systemInitTimeMilliseconds DateTime64(3, 'UTC')
) ENGINE = MergeTree
PARTITION BY toDate(time_received)
ORDER BY (exporter, time_received)
TTL toDateTime(time_received) + INTERVAL 30 DAY;

CREATE TABLE flow_counters (
    time_received DateTime64(3, 'UTC'),
    exporter LowCardinality(String), exporter_port UInt16,
    `format` LowCardinality(String), agent LowCardinality(String),
    domain UInt32, source_id_type UInt8, source_id_index UInt32,
    if_index UInt32, if_type UInt32, if_speed UInt64, if_direction UInt32,
    if_status UInt32,
    if_in_octets UInt64, if_in_ucast_pkts UInt32, if_in_multicast_pkts UInt32,
    if_in_broadcast_pkts UInt32, if_in_discards UInt32, if_in_errors UInt32,
    if_out_octets UInt64, if_out_ucast_pkts UInt32, if_out_multicast_pkts UInt32,
    if_out_broadcast_pkts UInt32, if_out_discards UInt32, if_out_errors UInt32
) ENGINE = MergeTree
PARTITION BY toDate(time_received)
ORDER BY (agent, if_index, time_received)
TTL toDateTime(time_received) + INTERVAL 90 DAY;

CREATE MATERIALIZED VIEW flows_mv TO flows AS
SELECT time_received, exporter, exporter_port, version, `format`, agent,
       domain, start, `end`, src_addr, dst_addr, src_port, dst_port, proto,
       icmp_type, icmp_code, bytes, packets, tcp_flags, tos, in_if, out_if,
       next_hop, src_as, dst_as, src_mask, dst_mask, sampling_interval,
       in_if_name, out_if_name
FROM flows_queue WHERE `type` = '';

CREATE MATERIALIZED VIEW flow_options_mv TO flow_options AS
SELECT time_received, exporter, exporter_port, version, domain, template_id,
       samplingInterval, samplingPacketInterval, interfaceName,
       interfaceDescription, systemInitTimeMilliseconds
FROM flows_queue WHERE `type` = 'options';

CREATE MATERIALIZED VIEW flow_counters_mv TO flow_counters AS
SELECT time_received, exporter, exporter_port, `format`, agent, domain,
       source_id_type, source_id_index, if_index, if_type, if_speed,
       if_direction, if_status, if_in_octets, if_in_ucast_pkts,
       if_in_multicast_pkts, if_in_broadcast_pkts, if_in_discards,
       if_in_errors, if_out_octets, if_out_ucast_pkts, if_out_multicast_pkts,
       if_out_broadcast_pkts, if_out_discards, if_out_errors
FROM flows_queue WHERE `type` = 'counters';

-- Top talkers as netflow-analyze --summary computes them (bytes sent and
-- received, sampled records scaled):
--   SELECT addr, sum(bytes * scale) AS bytes
--   FROM (SELECT arrayJoin(if(src_addr = dst_addr, [src_addr],
--                             [src_addr, dst_addr])) AS addr,
--                bytes, if(sampling_interval > 1, sampling_interval, 1) AS scale
--         FROM flows)
--   GROUP BY addr ORDER BY bytes DESC LIMIT 10;
