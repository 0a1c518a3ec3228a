/* SPDX-License-Identifier: MIT */
/*
 * cairn-node and cairn-relay configuration files: defaults, every setting,
 * and one refusal per rule with the message users will see.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "node/node_config.h"
#include "relay/relay_config.h"

/* RFC 8032 test 1 public key: a valid root key. */
#define ROOT	  "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define NODE_BASE "identity_key = \"/k\";\nroot_key = \"" ROOT "\";\npeer_list = \"/p\";\n"

static void node_ok(const char *text, struct cn_node_config *c)
{
	struct cn_errbuf e = {{0}};
	int ret = cn_node_config_parse(text, c, &e);

	if (ret)
		fail_msg("refused: %s", e.msg);
}

static void node_refused(const char *text, const char *fragment)
{
	struct cn_node_config c;
	struct cn_errbuf e = {{0}};

	assert_int_not_equal(cn_node_config_parse(text, &c, &e), 0);
	if (!strstr(e.msg, fragment))
		fail_msg("message '%s' lacks '%s'", e.msg, fragment);
}

static void test_node_defaults_and_full(void **state)
{
	struct cn_node_config c;

	(void)state;
	node_ok(NODE_BASE, &c);
	assert_string_equal(c.identity_key, "/k");
	assert_string_equal(c.state_dir, "/var/lib/cairn");
	assert_string_equal(c.control_socket, "/run/cairn/node.sock");
	assert_string_equal(c.tun_name, "cairn0");
	assert_int_equal(c.mtu, 1340);
	assert_true(c.ice);
	assert_int_equal(c.relay_transport, CN_RELAY_AUTO);
	node_ok(NODE_BASE
		"state_dir = \"/s\"; control_socket = \"/c.sock\"; log_level = \"debug\";\n"
		"tun = { name = \"cn1\"; mtu = 1280; };\n"
		"relays = { transport = \"tcp\"; };\n"
		"ice = { enabled = false; interfaces = [\"192.0.2.5\", \"2001:db8::5\"];\n"
		"  turn = ( { host = \"192.0.2.9\"; port = 3479; username = \"u\";"
		" password = \"p\"; } ); };\n",
		&c);
	assert_string_equal(c.tun_name, "cn1");
	assert_int_equal(c.mtu, 1280);
	assert_int_equal(c.relay_transport, CN_RELAY_TCP);
	assert_false(c.ice);
	assert_int_equal(c.nice_ifaddrs, 2);
	assert_string_equal(c.ice_ifaddrs[1], "2001:db8::5");
	assert_int_equal(c.nturn, 1);
	assert_int_equal(c.turn[0].port, 3479);
	assert_string_equal(c.turn[0].password, "p");
	/* DNS and metrics: defaults, then every setting. */
	node_ok(NODE_BASE, &c);
	assert_true(c.dns && c.dns_overlay && !c.metrics_on);
	assert_int_equal(c.ndns_listen, 1);
	assert_int_equal(cn_addr_port((const struct sockaddr *)&c.dns_listen[0].ss), 53);
	node_ok(NODE_BASE "dns = { enabled = false; overlay = false; listen = [\"127.0.0.1:5300\","
			  " \"[::1]:5300\"]; upstream = \"192.0.2.53:53,[2001:db8::53]:53\"; };\n"
			  "metrics = \"127.0.0.1:9587\";\n",
		&c);
	assert_false(c.dns);
	assert_false(c.dns_overlay);
	assert_int_equal(c.ndns_listen, 2);
	assert_string_equal(c.dns_upstream, "192.0.2.53:53,[2001:db8::53]:53");
	assert_true(c.metrics_on);
	assert_int_equal(cn_addr_port((const struct sockaddr *)&c.metrics.ss), 9587);
}

static void test_node_refusals(void **state)
{
	(void)state;
	node_refused("root_key = \"" ROOT "\"; peer_list = \"/p\";",
		     "missing setting 'identity_key'");
	node_refused(NODE_BASE "tun_name = \"x\";", "line 4: unknown setting 'tun_name'");
	node_refused(NODE_BASE "tun = { nmae = \"x\"; };", "unknown setting 'tun.nmae'");
	node_refused(NODE_BASE "tun = { mtu = 100; };", "'mtu' must be between 1280 and 9000");
	node_refused(NODE_BASE "tun = { mtu = \"big\"; };", "'mtu' must be an integer");
	node_refused(NODE_BASE "relays = { transport = \"carrier-pigeon\"; };",
		     "'relays.transport' must be auto, udp or tcp");
	node_refused(NODE_BASE "log_level = \"loud\";", "'log_level' must be");
	node_refused(NODE_BASE "ice = { enabled = 1; };", "'enabled' must be true or false");
	node_refused(NODE_BASE "ice = { interfaces = [\"eth0\"]; };", "'eth0' is not an address");
	node_refused(NODE_BASE "ice = { turn = ( { host = \"turn.example\"; } ); };",
		     "'ice.turn.host' must be an IP address");
	node_refused(NODE_BASE "ice = { turn = ( { port = 1; } ); };", "missing setting 'host'");
	node_refused("identity_key = \"/k\"; root_key = \"AAAA\"; peer_list = \"/p\";",
		     "'root_key' is not a public key");
	node_refused(NODE_BASE "@include \"/etc/passwd\"\n", "'@include' is not allowed");
	/* libconfig 1.5 would wrap these silently, or leak the string. */
	node_refused(NODE_BASE "tun = { mtu = 4294968576; };", "out of the 32-bit range");
	node_refused(NODE_BASE "tun = { name \"x\" };", "unexpected string");
	node_refused(NODE_BASE "/* unterminated", "unterminated /* comment");
	node_refused(NODE_BASE "dns = { upstream = \"dns.example:53\"; };",
		     "'dns.example:53' is not \"address:port\"");
	node_refused(NODE_BASE "dns = { upstream = \"192.0.2.1:53,,\"; };",
		     "'dns.upstream' must be");
	node_refused(NODE_BASE "dns = { listen = [\"127.0.0.1\"]; };", "is not \"address:port\"");
	node_refused(NODE_BASE "dns = { port = 53; };", "unknown setting 'dns.port'");
	node_refused(NODE_BASE "metrics = \"localhost:9587\";", "'metrics': 'localhost:9587'");
	node_refused(NODE_BASE "tun = { name = \"x\" ", "line");
	node_refused(NODE_BASE "tun = { name = \"much-too-long-for-an-interface\"; };",
		     "'name' is too long");
}

static void test_node_deploy(void **state)
{
	struct cn_node_config c;

	(void)state;
	node_ok(NODE_BASE, &c);
	assert_false(c.deploy);
	assert_int_equal(c.deploy_port, 7946);
	assert_int_equal(c.ndeploy_groups, 1);
	assert_string_equal(c.deploy_groups[0], "deployers");
	assert_int_equal(c.deploy_keep, 3);
	assert_string_equal(c.deploy_hook, "");
	assert_string_equal(c.deploy_dir, "");
	assert_int_equal(c.deploy_max_mb, 4096);
	assert_int_equal(c.deploy_hook_timeout, 60);
	assert_string_equal(c.deploy_hook_user, "");
	assert_string_equal(c.user, "");
	node_ok(NODE_BASE "deploy = { enabled = true; port = 8000; groups = [\"ci\", \"ops-1\"];"
			  " keep = 5; hook = \"/etc/cairn/activate\"; dir = \"/srv/deploy\";"
			  " max_mb = 100; hook_timeout = 10; hook_user = \"cairn-hook\"; };\n"
			  "user = \"cairn-node\";\n",
		&c);
	assert_string_equal(c.deploy_hook_user, "cairn-hook");
	assert_string_equal(c.user, "cairn-node");
	node_refused(NODE_BASE "user = 0;", "user");
	node_refused(NODE_BASE "deploy = { hook_user = 1; };", "hook_user");
	assert_true(c.deploy);
	assert_int_equal(c.deploy_port, 8000);
	assert_int_equal(c.ndeploy_groups, 2);
	assert_string_equal(c.deploy_groups[1], "ops-1");
	assert_int_equal(c.deploy_keep, 5);
	assert_string_equal(c.deploy_hook, "/etc/cairn/activate");
	assert_string_equal(c.deploy_dir, "/srv/deploy");
	assert_int_equal(c.deploy_max_mb, 100);
	assert_int_equal(c.deploy_hook_timeout, 10);
	node_refused(NODE_BASE "deploy = 1;", "'deploy' must be a group");
	node_refused(NODE_BASE "deploy = { enable = true; };", "unknown setting 'deploy.enable'");
	node_refused(NODE_BASE "deploy = { enabled = 1; };", "enabled");
	node_refused(NODE_BASE "deploy = { port = 0; };", "'port' must be between 1 and 65535");
	node_refused(NODE_BASE "deploy = { port = 70000; };", "'port' must be between 1 and 65535");
	node_refused(NODE_BASE "deploy = { keep = 0; };", "'keep' must be between 1 and 100");
	node_refused(NODE_BASE "deploy = { max_mb = 0; };", "max_mb");
	node_refused(NODE_BASE "deploy = { hook_timeout = 0; };", "hook_timeout");
	node_refused(NODE_BASE "deploy = { hook = \"activate.sh\"; };",
		     "'deploy.hook' must be an absolute path");
	node_refused(NODE_BASE "deploy = { dir = \"deploy\"; };",
		     "'deploy.dir' must be an absolute path");
	node_refused(NODE_BASE "deploy = { groups = []; };", "'deploy.groups' must be an array");
	node_refused(NODE_BASE "deploy = { groups = \"ci\"; };",
		     "'deploy.groups' must be an array");
	node_refused(NODE_BASE "deploy = { groups = [\"Ci\"]; };", "'Ci' is not a group name");
	node_refused(NODE_BASE "deploy = { groups = [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\","
			       "\"h\",\"i\"]; };",
		     "1 to 8 group names");
	node_refused(NODE_BASE "deploy = { groups = [1]; };", "is not a group name");
}

static void test_node_dataplane(void **state)
{
	struct cn_node_config c;

	(void)state;
	node_ok(NODE_BASE, &c);
	assert_true(c.offload);
	assert_true(c.udp_gso);
	assert_int_equal(c.workers, 0);
	node_ok(NODE_BASE "dataplane = { offload = false; udp_gso = false; workers = 3; };", &c);
	assert_false(c.offload);
	assert_false(c.udp_gso);
	assert_int_equal(c.workers, 3);
	node_ok(NODE_BASE "dataplane = { udp_gso = false; };", &c);
	assert_true(c.offload);
	assert_false(c.udp_gso);
	node_refused(NODE_BASE "dataplane = true;", "'dataplane' must be a group");
	node_refused(NODE_BASE "dataplane = { gso = false; };", "unknown setting 'dataplane.gso'");
	node_refused(NODE_BASE "dataplane = { offload = 1; };", "'offload' must be true or false");
	node_refused(NODE_BASE "dataplane = { workers = 65; };",
		     "'workers' must be between 0 and 64");
	node_refused(NODE_BASE "dataplane = { workers = -1; };", "workers");
}

static void test_node_nat(void **state)
{
	struct cn_node_config c;

	(void)state;
	node_ok(NODE_BASE, &c);
	assert_true(c.nat_birthday);
	assert_true(c.nat_port_mapping);
	assert_int_equal(c.nat_port, 0);
	node_ok(NODE_BASE "nat = { birthday = false; port_mapping = false; port = 41641; };", &c);
	assert_false(c.nat_birthday);
	assert_false(c.nat_port_mapping);
	assert_int_equal(c.nat_port, 41641);
	node_refused(NODE_BASE "nat = true;", "'nat' must be a group");
	node_refused(NODE_BASE "nat = { upnp = true; };", "unknown setting 'nat.upnp'");
	node_refused(NODE_BASE "nat = { birthday = 1; };", "'birthday' must be true or false");
	node_refused(NODE_BASE "nat = { port = 65536; };", "'port' must be between 0 and 65535");
}

static void test_relay_config(void **state)
{
	struct cn_relay_config c;
	struct cn_errbuf e = {{0}};
	static const char base[] = NODE_BASE "listen = { tcp = [\"127.0.0.1:443\"]; };\n";
	char text[1024];

	(void)state;
	assert_int_equal(cn_relay_config_parse(base, &c, &e), 0);
	assert_int_equal(c.ntcp, 1);
	assert_int_equal(c.limits.max_connections, 10000);
	assert_false(c.metrics_on);
	assert_int_equal(cn_relay_config_parse(NODE_BASE "listen = { tcp = [\"[::1]:443\"];"
							 " udp = [\"0.0.0.0:443\"];"
							 " stun = [\"0.0.0.0:3478\"];"
							 " metrics = \"127.0.0.1:9586\"; };\n"
							 "limits = { idle_timeout = 30; };",
					       &c, &e),
			 0);
	assert_true(c.metrics_on);
	assert_int_equal(c.limits.idle_timeout_ms, 30000);
	assert_string_equal(c.user, "");
	assert_int_equal(cn_relay_config_parse(NODE_BASE "listen = { tcp = [\"[::1]:443\"]; };\n"
							 "user = \"cairn-relay\";",
					       &c, &e),
			 0);
	assert_string_equal(c.user, "cairn-relay");
	assert_int_not_equal(cn_relay_config_parse(NODE_BASE, &c, &e), 0);
	assert_non_null(strstr(e.msg, "missing group 'listen'"));
	assert_int_not_equal(cn_relay_config_parse(NODE_BASE "listen = { };", &c, &e), 0);
	assert_non_null(strstr(e.msg, "at least one tcp or udp"));
	assert_int_not_equal(
		cn_relay_config_parse(NODE_BASE "listen = { tcp = [\"localhost:443\"]; };", &c, &e),
		0);
	assert_non_null(strstr(e.msg, "'localhost:443' is not \"address:port\""));
	assert_int_not_equal(
		cn_relay_config_parse(NODE_BASE "listen = { tcp = [\"1.2.3.4:70000\"]; };", &c, &e),
		0);
	snprintf(text, sizeof(text), "%slimits = { max_frame = 100; };", base);
	assert_int_not_equal(cn_relay_config_parse(text, &c, &e), 0);
	assert_non_null(strstr(e.msg, "'max_frame' must be between 256 and 65535"));
	snprintf(text, sizeof(text), "%slimits = { max_conections = 100; };", base);
	assert_int_not_equal(cn_relay_config_parse(text, &c, &e), 0);
	assert_non_null(strstr(e.msg, "unknown setting 'limits.max_conections'"));
	snprintf(text, sizeof(text), "%slisten2 = 1;", base);
	assert_int_not_equal(cn_relay_config_parse(text, &c, &e), 0);
	assert_non_null(strstr(e.msg, "unknown setting 'listen2'"));
	assert_int_not_equal(cn_relay_config_load("/nonexistent/relay.conf", &c, &e), 0);
	assert_non_null(strstr(e.msg, "/nonexistent/relay.conf"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_defaults_and_full),
		cmocka_unit_test(test_node_refusals),
		cmocka_unit_test(test_node_deploy),
		cmocka_unit_test(test_node_dataplane),
		cmocka_unit_test(test_node_nat),
		cmocka_unit_test(test_relay_config),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
