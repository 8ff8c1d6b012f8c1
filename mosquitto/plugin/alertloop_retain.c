/*
 * alertloop_retain: a mosquitto 2.0 plugin (API v5) that decides who may publish RETAINED
 * messages, which mosquitto's acl_file cannot tell apart from plain ones (docs/security.md,
 * "Retained messages"). A retained publish is refused unless
 *   - its user is one of plugin_opt_retain_users (the services that own retained state:
 *     webhook, actions), or
 *   - it is the client's own status (<status root>/<user>) or an actuator's own relay state
 *     (actuators/<user>/+/state), with at most plugin_opt_max_status_bytes of payload.
 * Everything else (plain publishes, reads, subscriptions) is left to the acl_file: the plugin
 * defers. Options:
 *   plugin_opt_retain_users webhook actions     (space separated)
 *   plugin_opt_status_root status
 *   plugin_opt_actuators_root actuators
 *   plugin_opt_max_status_bytes 256
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#define MAX_USERS 32
#define MAX_TOPIC 512

struct settings {
	char *retain_users[MAX_USERS];
	int retain_user_count;
	char status_root[128];
	char actuators_root[128];
	uint32_t max_status_bytes;
};

static mosquitto_plugin_id_t *plugin_id;
static struct settings settings;

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for (int i = 0; i < supported_version_count; i++) {
		if (supported_versions[i] == 5) {
			return 5;
		}
	}
	return -1;
}

static bool may_retain_anything(const char *user)
{
	for (int i = 0; i < settings.retain_user_count; i++) {
		if (strcmp(settings.retain_users[i], user) == 0) {
			return true;
		}
	}
	return false;
}

static bool own_topic(const char *user, const char *topic)
{
	char pattern[MAX_TOPIC];
	bool match = false;

	if (strpbrk(user, "+#/") != NULL) { /* would turn a pattern into a wildcard */
		return false;
	}
	snprintf(pattern, sizeof(pattern), "%s/%s", settings.status_root, user);
	if (strcmp(topic, pattern) == 0) {
		return true;
	}
	if (snprintf(pattern, sizeof(pattern), "%s/%s/+/state", settings.actuators_root, user)
			>= (int)sizeof(pattern)) {
		return false;
	}
	return mosquitto_topic_matches_sub(pattern, topic, &match) == MOSQ_ERR_SUCCESS && match;
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *check = event_data;
	const char *user;

	(void)event;
	(void)userdata;
	if (check->access != MOSQ_ACL_WRITE || !check->retain) {
		return MOSQ_ERR_PLUGIN_DEFER;
	}
	user = mosquitto_client_username(check->client);
	if (user == NULL) {
		return MOSQ_ERR_ACL_DENIED;
	}
	if (may_retain_anything(user)) {
		return MOSQ_ERR_PLUGIN_DEFER;
	}
	if (check->payloadlen <= settings.max_status_bytes && own_topic(user, check->topic)) {
		return MOSQ_ERR_PLUGIN_DEFER; /* the acl_file still has to allow the topic */
	}
	mosquitto_log_printf(MOSQ_LOG_NOTICE,
			"alertloop_retain: refused a retained publish of %u bytes on %s by %s",
			check->payloadlen, check->topic, user);
	return MOSQ_ERR_ACL_DENIED;
}

static void copy_option(char *target, size_t size, const char *value)
{
	snprintf(target, size, "%s", value);
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
		struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	plugin_id = identifier;
	memset(&settings, 0, sizeof(settings));
	copy_option(settings.status_root, sizeof(settings.status_root), "status");
	copy_option(settings.actuators_root, sizeof(settings.actuators_root), "actuators");
	settings.max_status_bytes = 256;
	for (int i = 0; i < option_count; i++) {
		const char *key = options[i].key, *value = options[i].value;
		if (strcmp(key, "retain_users") == 0) {
			char *copy = strdup(value), *save = NULL;
			for (char *name = strtok_r(copy, " ,", &save); name != NULL;
					name = strtok_r(NULL, " ,", &save)) {
				if (settings.retain_user_count == MAX_USERS) {
					mosquitto_log_printf(MOSQ_LOG_ERR, "alertloop_retain: more than %d "
							"retain_users", MAX_USERS);
					free(copy);
					return MOSQ_ERR_INVAL;
				}
				settings.retain_users[settings.retain_user_count++] = strdup(name);
			}
			free(copy);
		} else if (strcmp(key, "status_root") == 0) {
			copy_option(settings.status_root, sizeof(settings.status_root), value);
		} else if (strcmp(key, "actuators_root") == 0) {
			copy_option(settings.actuators_root, sizeof(settings.actuators_root), value);
		} else if (strcmp(key, "max_status_bytes") == 0) {
			settings.max_status_bytes = (uint32_t)strtoul(value, NULL, 10);
		} else {
			mosquitto_log_printf(MOSQ_LOG_ERR, "alertloop_retain: unknown option %s", key);
			return MOSQ_ERR_INVAL;
		}
	}
	mosquitto_log_printf(MOSQ_LOG_NOTICE, "alertloop_retain: %d users may retain, others only "
			"%s/<user> and %s/<user>/+/state", settings.retain_user_count,
			settings.status_root, settings.actuators_root);
	return mosquitto_callback_register(plugin_id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL, NULL);
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	for (int i = 0; i < settings.retain_user_count; i++) {
		free(settings.retain_users[i]);
	}
	settings.retain_user_count = 0;
	return mosquitto_callback_unregister(plugin_id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL);
}
