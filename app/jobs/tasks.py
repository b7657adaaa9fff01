"""Thin tasks: ids in, one service call. Registered on the app's Huey instance."""

from flask import Flask
from huey import crontab

from app.jobs.queue import JobQueue
from app.services.learning.weights import refit_clients


def register_tasks(queue: JobQueue, app: Flask) -> None:
    """Define the tasks on this app's Huey, bound to its services."""
    huey = queue.huey
    sessions = app.extensions["conturs.sessions"]

    @huey.task(retries=3, retry_delay=30, name="refit_client")
    def refit_client(client_id: str) -> None:
        refit_clients(sessions, [client_id])
        app.extensions["conturs.client_configs"].invalidate()

    @huey.periodic_task(crontab(minute="17"), name="refit_all")
    def refit_all() -> None:
        # Priors move as similar clients learn, so every client is revisited.
        refit_clients(sessions)
        app.extensions["conturs.client_configs"].invalidate()

    queue.register("refit_client", refit_client)

    outbox = app.extensions.get("conturs.outbox")
    if outbox is not None:

        @huey.periodic_task(crontab(minute="*"), name="deliver_feedback")
        def deliver_feedback() -> None:
            outbox.deliver()

        queue.register("deliver_feedback", deliver_feedback)
