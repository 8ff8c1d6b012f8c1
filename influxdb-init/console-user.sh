# The console's own InfluxDB user, `console`: may read the database, nothing else
# (docs/security.md). Made like the image's own users:
# - on the first start, the influxdb image's init script (init-influxdb.sh) sources this file
#   from /docker-entrypoint-initdb.d after it has created the admin, the database, `listener`
#   and `grafana`, with INFLUX_CMD logged in as the admin;
# - on an installation made before the console had a user of its own (docs/deploy.md,
#   "Upgrading"): docker compose exec influxdb sh /docker-entrypoint-initdb.d/console-user.sh
# Running it again changes nothing but the password, set to INFLUXDB_CONSOLE_PASSWORD.
# shellcheck shell=sh disable=SC2086  # INFLUX_CMD is a command line, split on purpose

: "${INFLUX_CMD:=influx -username ${INFLUXDB_ADMIN_USER:-admin} -password ${INFLUXDB_ADMIN_PASSWORD} -execute }"
if [ -z "${INFLUXDB_CONSOLE_PASSWORD}" ] || [ -z "${INFLUXDB_DB}" ]; then
    echo "console-user.sh: INFLUXDB_CONSOLE_PASSWORD and INFLUXDB_DB are required (run make secrets)" >&2
    exit 1
fi
$INFLUX_CMD "SHOW USERS" | grep -q '^console ' ||
    $INFLUX_CMD "CREATE USER \"console\" WITH PASSWORD '${INFLUXDB_CONSOLE_PASSWORD}'"
$INFLUX_CMD "SET PASSWORD FOR \"console\" = '${INFLUXDB_CONSOLE_PASSWORD}'"
$INFLUX_CMD "REVOKE ALL PRIVILEGES FROM \"console\""
$INFLUX_CMD "GRANT READ ON \"${INFLUXDB_DB}\" TO \"console\""
