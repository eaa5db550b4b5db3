"""Flow control of our faust apps (shared.streams.create_stream_app): resuming a flow that is
already on keeps what the streams have queued.

faust resumes the flow a second time at the end of table recovery, after the fetcher has
already delivered input messages into the stream queues; mode's resume clears those queues,
and the messages were lost (read, never acked, never committed: the partition stalled with
lag; tests/integration/test_streamed_projection.py saw 8 of 9). See `_FlowControl`.
"""

from __future__ import annotations

import pytest

from shared.streams import create_stream_app

pytestmark = pytest.mark.unit


async def test_resume_while_flowing_keeps_queued_messages_and_resume_after_suspend_clears() -> None:
    app = create_stream_app("flow", "127.0.0.1:1")  # never started: no broker needed
    flow = app.flow_control
    queue = app.FlowControlQueue(maxsize=10, clear_on_resume=True)
    assert not flow.is_active()  # faust starts suspended

    flow.resume()  # recovery starts: the flow is turned on
    queue.put_nowait("fetched after the seek")
    flow.resume()  # Recovery.on_recovery_completed resumes again
    assert queue.qsize() == 1

    flow.suspend()  # a rebalance: what is queued now is read again after the seek
    queue.put_nowait("stale")
    flow.resume()
    assert queue.qsize() == 0
    assert flow.is_active()
