"""The pipeline: every durable pipelined request (`message`, `ack`, `say`, `read`) on one
road. The reactor adds a typed item per request to the round (items.py), the writer commits
the round in one group commit through the store's HotWork interface, and the committed round
is answered by pure functions (answer.py) that the Answerer (answerer.py) feeds with who is
online and whose bytes it hands to the reactor. items.py says how to add a new kind.
"""

from service.pipeline.answerer import Answerer
from service.pipeline.items import Ack, DirectMessage, Read, Refused, ReplyTarget, Round, Say

__all__ = [
    "Ack",
    "Answerer",
    "DirectMessage",
    "Read",
    "Refused",
    "ReplyTarget",
    "Round",
    "Say",
]
