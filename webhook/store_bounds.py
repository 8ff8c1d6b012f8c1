"""What the alert store left out or dropped in a request (its bounds, stale and omitted
updates), counted and logged, then cleared from the store."""

import logging
import time

log = logging.getLogger(__name__)


class BoundsReport:
    def __init__(self, count, config):
        """`count(name, amount)`; `config` gives the refusal log interval and the bound."""
        self._count = count
        self._config = config
        self._next_full_warning = 0.0

    def report(self, store, forgotten_before):
        """Count and log what `store` did beyond applying the request; `forgotten_before` is its
        `forgotten` count before the request."""
        if store.forgotten > forgotten_before:
            self._count("state_forgotten", store.forgotten - forgotten_before)
        if store.refused:
            self._count("state_full", len(store.refused))
            now = time.monotonic()
            if now >= self._next_full_warning:  # at most one line per refusal log interval
                self._next_full_warning = now + self._config.refusal_log_interval
                log.warning("alert state full: new firing instances not kept, e.g. %s (counted "
                            "as state_full; WEBHOOK_STATE_MAX_ENTRIES=%d)",
                            store.refused[0], self._config.state_max_entries)
            store.refused.clear()
        if store.omitted:
            self._count("resolved_by_omission", len(store.omitted))
            log.warning("resolved %d firing instances only because Grafana's whole-state "
                        "notification left them out, e.g. %s: a silence in Grafana does that to "
                        "an instance that still fires; shelve alarms in the console instead",
                        len(store.omitted), store.omitted[0])
            store.omitted.clear()
        if store.stale:
            self._count("stale_updates", len(store.stale))
            log.warning("ignored %d alert updates older than the state held (a replayed or late "
                        "notification), e.g. %s", len(store.stale), store.stale[0])
            store.stale.clear()
