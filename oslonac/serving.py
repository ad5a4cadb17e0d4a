"""uvicorn with a calmer housekeeping loop, for processes that mostly wait.

uvicorn's main loop wakes ten times a second to check for shutdown and refresh its Date header; on this machine that
alone costs each idle process about 0.25 % of a core — half the budget of the whole idle platform. Waking twice a
second keeps the Date header exact to the second (it is refreshed on every second tick, as uvicorn does on every
tenth) and sees a shutdown request within 0.5 s.
"""

from __future__ import annotations

import asyncio

import uvicorn

TICK_S = 0.5
# uvicorn refreshes the Date header and checks its request limit when its tick counter is a multiple of ten.
_STEP = round(10 * TICK_S / 1.0)


class CalmServer(uvicorn.Server):
    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + _STEP) % 864_000
            await asyncio.sleep(TICK_S)
            should_exit = await self.on_tick(counter)
