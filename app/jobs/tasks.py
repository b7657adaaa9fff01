"""Thin tasks: ids in, one service call. Registered on the app's Huey instance, bound
to the services of the app the worker was built for."""

from huey import crontab

from app.container import Services
from app.services.crm.retention import prune_settled_events
from app.services.learning.weights import refit_clients
from app.services.scoring.retention import prune_score_history


def register_tasks(services: Services) -> None:
    """Define the tasks on this app's Huey."""
    queue = services.tasks
    huey = queue.huey
    sessions = services.sessions

    @huey.task(retries=3, retry_delay=30, name="refit_client")
    def refit_client(client_id: str) -> None:
        refit_clients(sessions, [client_id])

    @huey.periodic_task(crontab(minute="17"), name="refit_all")
    def refit_all() -> None:
        # Priors move as similar clients learn, so every client is revisited.
        refit_clients(sessions)

    @huey.periodic_task(crontab(minute="41", hour="3"), name="prune_score_history")
    def prune_history() -> None:
        prune_score_history(sessions, services.score_history_days)

    queue.register("refit_client", refit_client)

    accounts = services.accounts
    if accounts is not None:
        # Email verification: mails a new address its key, a known one a notice.
        @huey.task(retries=3, retry_delay=60, name="mail_access")
        def mail_access(identity: str, profile: dict | None = None) -> None:
            accounts.send_access_mail(identity, profile)

        queue.register("mail_access", mail_access)

    hubspot = services.hubspot
    if hubspot is not None:
        every = max(1, min(59, services.uninstall_check_minutes))

        @huey.periodic_task(crontab(minute=f"*/{every}"), name="check_uninstalls")
        def check_uninstalls() -> None:
            # HubSpot sends no event when a portal uninstalls the app.
            hubspot.check_uninstalls()

        @huey.task(retries=2, retry_delay=10, name="sync_account")
        def sync_account(account_pk: int) -> None:
            # A wake-up call: the inbox says what to do; more waiting → go again.
            result = hubspot.sync(account_pk)
            if result.events and not result.retry_later:
                queue.enqueue("sync_account", account_pk=account_pk)

        @huey.task(retries=2, retry_delay=30, name="backfill_account")
        def backfill_account(account_pk: int) -> None:
            # A few pages per run, so other portals' work interleaves.
            if not hubspot.backfill(account_pk, pages=10):
                queue.enqueue("backfill_account", account_pk=account_pk)

        @huey.periodic_task(crontab(minute="*"), name="sweep_inboxes")
        def sweep_inboxes() -> None:
            # Re-queues whatever is pending, whatever happened to earlier wake-ups.
            for account_pk in hubspot.installed_pks():
                queue.enqueue("sync_account", account_pk=account_pk)
            for account_pk in hubspot.unfinished_backfills():
                queue.enqueue("backfill_account", account_pk=account_pk)
            for account_pk in hubspot.installed_pks():
                if hubspot.weights_changed(account_pk):
                    queue.enqueue("rescore_account", account_pk=account_pk)

        @huey.task(retries=2, retry_delay=60, name="rescore_account")
        def rescore_account(account_pk: int) -> None:
            hubspot.rescore(account_pk)

        @huey.periodic_task(crontab(minute="7", hour="2"), name="rescore_daily")
        def rescore_daily() -> None:
            # Recency decays with the calendar: every record, once a day.
            for account_pk in hubspot.installed_pks():
                queue.enqueue("rescore_account", account_pk=account_pk)

        @huey.periodic_task(crontab(minute="29", hour="3"), name="reconcile_accounts")
        def reconcile_accounts() -> None:
            # Lost webhooks and properties no subscription covers (mapping
            # overrides) send no event: every contact is read again daily.
            hubspot.reconcile_all()

        queue.register("sync_account", sync_account)
        queue.register("backfill_account", backfill_account)
        queue.register("rescore_account", rescore_account)

        @huey.periodic_task(crontab(minute="53", hour="4"), name="purge_uninstalled")
        def purge_uninstalled() -> None:
            hubspot.purge_uninstalled(services.uninstall_purge_days)
            hubspot.forget_used_states()
            prune_settled_events(sessions, services.crm_event_days)

    uspacy = services.uspacy
    if uspacy is not None:

        @huey.periodic_task(crontab(minute="*/30"), name="uspacy_refresh_tokens")
        def uspacy_refresh_tokens() -> None:
            # Tokens live a day: those expiring within the hour, traffic or not.
            uspacy.refresh_expiring()

        @huey.task(retries=2, retry_delay=30, name="uspacy_backfill_account")
        def uspacy_backfill_account(account_pk: int) -> None:
            # A few pages per run, so other portals' work interleaves.
            if not uspacy.backfill(account_pk, pages=10):
                queue.enqueue("uspacy_backfill_account", account_pk=account_pk)

        @huey.task(retries=2, retry_delay=10, name="uspacy_sync_account")
        def uspacy_sync_account(account_pk: int) -> None:
            # A wake-up call: the inbox says what to do; more waiting → go again.
            result = uspacy.sync(account_pk)
            if result.events and not result.retry_later:
                queue.enqueue("uspacy_sync_account", account_pk=account_pk)

        @huey.task(retries=2, retry_delay=60, name="uspacy_setup_account")
        def uspacy_setup_account(account_pk: int) -> None:
            # Fields and webhook that failed at install (the sweep retries).
            uspacy.finish_setup(account_pk)

        @huey.task(retries=2, retry_delay=60, name="uspacy_rescore_account")
        def uspacy_rescore_account(account_pk: int) -> None:
            uspacy.rescore(account_pk)

        @huey.periodic_task(crontab(minute="*"), name="uspacy_sweep_backfills")
        def uspacy_sweep_backfills() -> None:
            # Re-queues backfills and drains whose wake-up was lost, and
            # rescores portals whose weights moved.
            for account_pk in uspacy.unfinished_backfills():
                queue.enqueue("uspacy_backfill_account", account_pk=account_pk)
            for name, arguments in uspacy.pending_work():
                queue.enqueue(name, **arguments)

        @huey.periodic_task(crontab(minute="13", hour="2"), name="uspacy_rescore_daily")
        def uspacy_rescore_daily() -> None:
            # Recency decays with the calendar: every record, once a day.
            for account_pk in uspacy.installed_pks():
                queue.enqueue("uspacy_rescore_account", account_pk=account_pk)

        @huey.periodic_task(crontab(minute="37", hour="3"), name="uspacy_reconcile")
        def uspacy_reconcile() -> None:
            # Lost webhooks send no event: every lead and contact is read daily.
            uspacy.reconcile_all()

        @huey.periodic_task(crontab(minute="59", hour="4"), name="uspacy_purge")
        def uspacy_purge() -> None:
            uspacy.purge_uninstalled(services.uninstall_purge_days)

        queue.register("uspacy_backfill_account", uspacy_backfill_account)
        queue.register("uspacy_sync_account", uspacy_sync_account)
        queue.register("uspacy_rescore_account", uspacy_rescore_account)
        queue.register("uspacy_setup_account", uspacy_setup_account)

    outbox = services.outbox
    if outbox is not None:

        @huey.periodic_task(crontab(minute="*"), name="deliver_feedback")
        def deliver_feedback() -> None:
            outbox.deliver()

        queue.register("deliver_feedback", deliver_feedback)
