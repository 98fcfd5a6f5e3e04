"""What every session of one server shares besides Services."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from service.core.context import Services
from service.limits.auth_pool import AuthPool
from service.limits.guard import Guard
from service.net.reactor import Reactor
from service.pipeline.items import Round


@dataclass(slots=True)
class Runtime:
    services: Services
    reactor: Reactor
    workers: Executor  # serial requests and session ends
    auth: AuthPool  # login and register (password hashing), fair per address
    catch_ups: Executor  # a login's backlog and room catch-up, paced by the client's reading
    guard: Guard  # the abuse limits: the reactor's, and the auth threads' around a login
    on_closed: Callable[[Any], None]  # told of each SessionAdapter that closed
    hot: Round = field(default_factory=Round)  # this reactor round's pipelined requests
