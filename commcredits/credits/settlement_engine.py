"""The set-based FIFO engine behind `settle`: lots, auto-recharge and expiry in cumulative-money space.

Think of FIFO in cumulative-money space (docs/usage.md, "Settlement semantics"). Between two events that change
the rules (a lot expiring, a call the closed form does not cover), the calls' prefix sum S_k decides everything:
with balance b0 at the start, recharge amount R and trigger T, the number of auto-recharges after k calls is
n_k = max(0, ceil((S_k + T - b0) / R)), and spend k draws the money interval [S_k - c_k, S_k) from the queue of
lots (open lots, then each recharge lot of R appended). A call breaks the closed form when the balance before it
cannot pay it (a recharge before the call, or a blocked call) or when one recharge after it would not lift the
balance back to the trigger; such calls are stepped one at a time by exactly the ledger's rules, and runs of
blocked calls are skipped in one vectorised step. So the Python loop runs once per batch, per lot expiry, per
auto-recharge setting change and per exceptional call, never once per ordinary call.

Each call is judged with the auto-recharge setting and the agreement in force at its time (`auto` and `mca`,
timelines of changes; R and T above are constant between two changes, so runs stop at each change and the closed
form starts again). While the tenant is on MCA no call is blocked and nothing recharges: the lots pay what they
can and the rest of each call is billed in arrears (`_run_arrears`).

The engine is pure: numpy state in, numpy rows out (settlement_rows writes them).
"""

from __future__ import annotations

import numpy as np

from .rules import LOT_TERM_MONTHS, setting_at

MIN_BATCH = 2048
MAX_BATCH = 1 << 22


def expiry_us(times_us: np.ndarray) -> np.ndarray:
    """`expiry_instant` of each purchase time (µs since the epoch, UTC), vectorised: 12 calendar months later,
    the day clamped to the target month's length, the time of day kept."""
    at = np.asarray(times_us, np.int64).astype("datetime64[us]")
    month = at.astype("datetime64[M]")
    into_month = at - month.astype("datetime64[us]")  # day of month and time of day, as a duration
    target = month + LOT_TERM_MONTHS
    month_length = (target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")
    day = into_month.astype("timedelta64[D]")  # whole days into the month
    clamped = np.minimum(day, month_length - np.timedelta64(1, "D"))
    return (target.astype("datetime64[us]") + clamped + (into_month - day)).astype(np.int64)


class Engine:
    """FIFO settlement state and the rows it produces (numpy chunks, written and forgotten after each chunk of calls)."""

    def __init__(
        self,
        lots: dict,
        next_entry: int,
        next_lot: int,
        *,
        auto: list[tuple[int, int | None, int | None]],
        mca: list[tuple[int, bool]] = (),
    ):
        """`auto`: the auto-recharge setting as (from µs, recharge cents, trigger cents; None when off) in time
        order; `mca`: whether the tenant is on MCA, as (from µs, on MCA); the first row of each also holds before
        its time (rules.setting_at)."""
        # the FIFO: lots with money left, in lot id order; lots drawn to zero leave it (else every step would
        # walk thousands of empty lots) but still expire, with a remainder of 0
        self.drained_ids = self.drained_exp = np.zeros(0, np.int64)
        self._set_open(lots["id"], lots["exp"], lots["rem"])
        self.next_entry, self.next_lot = int(next_entry), int(next_lot)
        self.timeline = auto or [(0, None, None)]
        self.recharge, self.trigger = self.timeline[0][1:]
        self.mca_timeline = list(mca) or [(0, False)]
        self.mca = self.mca_timeline[0][1]
        self.pending: list[tuple[int, int, int]] = []  # (lot_id, expires_at, remainder): due, not recorded
        self.blocked: list = []
        self.settled = self.settled_cents = self.recharges = self.recharged_cents = 0
        self.expired = self.forfeited_cents = 0
        # output chunks
        self.spend_chunks: list[tuple] = []  # (call_idx, entry_id, cents drawn)
        self.arrears_chunks: list[tuple] = []  # (call_idx, cents billed in arrears): MCA
        self.recharge_chunks: list[tuple] = []  # (call_idx, lot_id, entry_id, before flag, expires_at)
        self.recharge_cents_chunks: list[np.ndarray] = []  # each recharge lot's amount, in recharge_rows order
        self.alloc_chunks: list[tuple] = []  # (entry_id, lot_id, cents)
        self.expiry_rows: list[tuple] = []  # (entry_id, lot_id, expires_at, remainder)

    def reset_output(self) -> None:
        """Forget the rows already written (the state carries on to the next chunk of calls)."""
        self.spend_chunks, self.recharge_chunks, self.alloc_chunks, self.expiry_rows, self.blocked = [], [], [], [], []
        self.recharge_cents_chunks, self.arrears_chunks = [], []

    @property
    def auto(self) -> bool:
        return self.recharge is not None

    def balance(self) -> int:
        return int(self.rem.sum())

    def _set_open(self, ids: np.ndarray, exp: np.ndarray, rem: np.ndarray) -> None:
        drained = rem == 0
        if drained.any():
            self.drained_ids = np.concatenate((self.drained_ids, ids[drained]))
            self.drained_exp = np.concatenate((self.drained_exp, exp[drained]))
            ids, exp, rem = ids[~drained], exp[~drained], rem[~drained]
        self.ids, self.exp, self.rem = ids, exp, rem

    # -- expiry --

    def expire_due(self, t: int) -> None:
        due = self.exp <= t
        if due.any():
            for lot_id, exp, rem in zip(self.ids[due], self.exp[due], self.rem[due]):
                self.pending.append((int(lot_id), int(exp), int(rem)))
            keep = ~due
            self.ids, self.exp, self.rem = self.ids[keep], self.exp[keep], self.rem[keep]
        self._drained_due(t)

    def _drained_due(self, t: int) -> None:
        due = self.drained_exp <= t
        if due.any():
            self.pending.extend(
                (int(lot_id), int(exp), 0) for lot_id, exp in zip(self.drained_ids[due], self.drained_exp[due])
            )
            self.drained_ids, self.drained_exp = self.drained_ids[~due], self.drained_exp[~due]

    def _flush_expiries(self) -> None:
        # recorded by the next call that succeeds, oldest lot first (the ledger's due_lots order)
        for lot_id, exp, rem in sorted(self.pending):
            self.expiry_rows.append((self.next_entry, lot_id, exp, rem))
            self.next_entry += 1
            self.expired += 1
            self.forfeited_cents += rem
        self.pending = []

    def next_expiry(self, *, drained: bool = True) -> int:
        """When the next lot expires (with drained=False: the next lot with money left, the only expiry that
        changes what later calls draw; drained lots expire inside a run of calls, see _commit)."""
        soonest = [int(e.min()) for e in (self.exp, self.drained_exp if drained else ()) if len(e)]
        return min(soonest, default=np.iinfo(np.int64).max)

    # -- the settings in force --

    def segments(self, times: np.ndarray, start: int = 0, stop: int | None = None) -> list[tuple[int, int]]:
        """Calls [start, stop) cut where the auto-recharge setting or the agreement changes: within a piece every
        call is judged with one setting (a call at the instant of a change takes the new one)."""
        stop = len(times) if stop is None else stop
        changes = np.array([row[0] for row in self.timeline[1:] + self.mca_timeline[1:]], np.int64)
        cuts = np.clip(np.searchsorted(times[start:stop], changes, side="left") + start, start, stop)
        bounds = np.unique(np.concatenate(([start], cuts, [stop])))
        return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    def use_setting_at(self, t: int) -> None:
        """Judge the next calls with the settings in force at `t` (µs)."""
        self.recharge, self.trigger = setting_at(self.timeline, t)[1:]
        self.mca = setting_at(self.mca_timeline, t)[1]

    # -- running the calls --

    def run(self, times: np.ndarray, cents: np.ndarray, start: int = 0, stop: int | None = None) -> None:
        """Settle calls [start, stop) of `times`/`cents` (in call order); the rows refer to positions in them.
        Each piece between setting changes runs with its own settings."""
        for a, b in self.segments(times, start, stop):
            self.use_setting_at(int(times[a]))
            if self.mca:
                self._run_arrears(times, cents, a, b)
            else:
                self._run_piece(times, cents, a, b)

    def _run_piece(self, times: np.ndarray, cents: np.ndarray, start: int, n: int) -> None:
        pos, width = start, MIN_BATCH
        while pos < n:
            self.expire_due(int(times[pos]))
            end = min(n, int(np.searchsorted(times, self.next_expiry(drained=False), side="left")))
            while pos < end:
                limit = min(end, pos + width)
                accepted, stop = self._batch(times, cents, pos, limit)
                pos += accepted
                if stop == "lots":  # a new recharge lot expires before the next call: expire it first
                    break
                if stop == "rule":
                    pos = self._step(times, cents, pos, end)
                    width = max(MIN_BATCH, width // 4)
                else:
                    width = min(MAX_BATCH, width * 4)
                end = min(end, int(np.searchsorted(times, self.next_expiry(drained=False), side="left")))

    def buy(self, lot_id: int, at: int, expires: int, cents: int) -> None:
        """A manual order at `at` (µs): it records the expiries due by then (as `Ledger.add_funds` does), then
        its lot joins the end of the FIFO."""
        self.expire_due(at)
        self._flush_expiries()
        self._set_open(np.append(self.ids, lot_id), np.append(self.exp, expires), np.append(self.rem, cents))

    def close(self, at: int) -> None:
        """Record every expiry due by `at` (µs): the end of a re-settlement, up to the ledger's last entry."""
        self.expire_due(at)
        self._flush_expiries()

    def _batch(self, times, cents, start: int, limit: int) -> tuple[int, str | None]:
        """Settle calls [start, limit) while the closed form holds; return (how many, why it stopped)."""
        c = cents[start:limit]
        spent = np.cumsum(c)
        before = spent - c
        b0 = self.balance()
        if self.auto:
            R, T = self.recharge, self.trigger
            need = spent + T - b0
            n = np.maximum(0, -((-need) // R))  # ceil(need / R): recharges after the first k calls
            n_before = np.concatenate(([0], n[:-1]))
            available = b0 + n_before * R - before
            broken = (c > available) | (n - n_before > 1)
        else:
            n = n_before = np.zeros(len(c), np.int64)
            broken = c > b0 - before
        m = int(np.argmax(broken)) if broken.any() else len(c)
        stop = "rule" if m < len(c) else None
        recharged = (n[:m] - n_before[:m]).astype(bool) if m else np.zeros(0, bool)
        lot_exp = None
        if recharged.any():
            at = np.flatnonzero(recharged)
            lot_exp = expiry_us(times[start + at])
            cut = int(np.searchsorted(times[start : start + m], lot_exp.min(), side="left"))
            if cut < m:
                m, stop = cut, "lots"
                keep = at < m
                recharged = recharged[:m]
                lot_exp = lot_exp[keep]
        if m == 0:
            return 0, stop
        self._commit(
            np.arange(start, start + m), times[start : start + m], c[:m], np.zeros(m, bool), recharged[:m], lot_exp
        )
        return m, stop

    def _step(self, times, cents, k: int, end: int) -> int:
        """Apply the ledger's per-call rule to call k; skip the run of blocked calls after it. Return the next position."""
        c, b = int(cents[k]), self.balance()
        R, T = self.recharge, self.trigger
        before = self.auto and c > b and b < T
        available = b + (R if before else 0)
        if c > available:  # blocked: nothing recorded; calls after it that also cannot pay are skipped at once
            limit = available  # a failed call leaves the state as it was, so the same test holds for the next calls
            rest = cents[k + 1 : end]
            payable = np.flatnonzero(rest <= limit)
            stop = k + 1 + (int(payable[0]) if len(payable) else len(rest))
            self.blocked.append(np.arange(k, stop))
            return stop
        after = self.auto and available - c < T
        lot_times = [int(times[k])] * (int(before) + int(after))
        lot_exp = expiry_us(np.array(lot_times, np.int64)) if lot_times else None
        self._commit(np.array([k]), times[k : k + 1], np.array([c]), np.array([before]), np.array([after]), lot_exp)
        return k + 1

    def _commit(self, call_idx, call_times, c, before, after, lot_exp) -> None:
        """Record spends for `call_idx` (at `call_times`, charges `c`), with a recharge lot before/after where
        flagged, and the expiries of drained lots falling due among these calls."""
        self._drained_due(int(call_times[0]))  # due by the first call: with the other due lots, oldest first
        self._flush_expiries()
        m = len(call_idx)
        before = before.astype(np.int64)
        after = after.astype(np.int64)
        due = self._drained_due_among(call_times)
        x_count = np.bincount(due[0], minlength=m)
        per_call = x_count + before + 1 + after
        first_entry = self.next_entry + np.concatenate(([0], np.cumsum(per_call)[:-1]))
        self._number_drained_expiries(first_entry, *due)
        call_entry = first_entry + x_count  # the call's own entries follow its expiries
        spend_entry = call_entry + before
        made = int((before + after).sum())
        lo, hi, ids, new_ids = self._money_space(made)
        spent = np.cumsum(c)
        self._allocate(spend_entry, lo, hi, ids, spent, c)
        self.spend_chunks.append((call_idx, spend_entry, c))
        if made:
            self._record_recharges(call_idx, call_entry, spend_entry, before, after, new_ids, lot_exp)
        # new state
        total = int(spent[-1])
        remaining = np.clip(hi - np.maximum(lo, total), 0, None)
        self._set_open(ids, np.concatenate((self.exp, lot_exp if made else np.zeros(0, np.int64))), remaining)
        self.next_entry = int(first_entry[-1] + per_call[-1])
        self.next_lot += made
        self.recharged_cents += made * (self.recharge or 0)
        self.settled += m
        self.settled_cents += total
        self.recharges += made

    def _drained_due_among(self, call_times):
        """Drained lots due later in this run expire just before the first call at or after their expiry (they
        draw nothing, so the closed form holds across them); several before one call: oldest lot first. Takes
        them out of the drained queue; returns (call position, lot, expiry) arrays in that order."""
        m = len(call_times)
        due_at = np.searchsorted(call_times, self.drained_exp, side="left")
        due = due_at < m
        x_call, x_lot, x_exp = due_at[due], self.drained_ids[due], self.drained_exp[due]
        order = np.lexsort((x_lot, x_call))
        self.drained_ids, self.drained_exp = self.drained_ids[~due], self.drained_exp[~due]
        return x_call[order], x_lot[order], x_exp[order]

    def _number_drained_expiries(self, first_entry: np.ndarray, x_call, x_lot, x_exp) -> None:
        """Entry ids for the drained lots found by _drained_due_among: first among their call's entries."""
        x_entry = first_entry[x_call] + np.arange(len(x_call)) - np.searchsorted(x_call, x_call, side="left")
        self.expiry_rows.extend(zip(x_entry.tolist(), x_lot.tolist(), x_exp.tolist(), [0] * len(x_lot)))
        self.expired += len(x_lot)

    def _money_space(self, made: int):
        """The FIFO in money space: open lots, then each new lot (R each) in the order made, as
        (lo, hi, lot ids, new lot ids)."""
        b0 = self.balance()
        open_hi = np.cumsum(self.rem)
        open_lo = open_hi - self.rem
        R = self.recharge or 0
        new_lo = b0 + np.arange(made, dtype=np.int64) * R
        new_ids = self.next_lot + np.arange(made, dtype=np.int64)
        lo = np.concatenate((open_lo, new_lo))
        hi = np.concatenate((open_hi, new_lo + R))
        return lo, hi, np.concatenate((self.ids, new_ids)), new_ids

    def _allocate(self, spend_entry, lo, hi, ids, spent, c) -> None:
        """Each spend's interval [spent - c, spent) overlaps lots first..last: one allocation per positive overlap.
        Most spends fit in one lot, so only the few that cross into the next are spread over several rows."""
        start = spent - c
        first = np.searchsorted(hi, start, side="right")  # the lot holding the spend's first cent
        more = np.searchsorted(lo, spent, side="left") - 1 - first  # how many lots after it the spend reaches
        entry, lot, amount = spend_entry, ids[first], np.minimum(spent, hi[first]) - start
        if more.any():  # a few spends cross into the next lot(s): one row per lot drawn, in spend order
            row = np.arange(len(c)) + np.cumsum(more) - more  # where each spend's first lot goes
            size = len(c) + int(more.sum())
            first_lots, first_amounts = lot, amount
            entry, lot, amount = (np.empty(size, np.int64) for _ in range(3))
            entry[row], lot[row], amount[row] = spend_entry, first_lots, first_amounts
            spanning = np.flatnonzero(more)
            extra = more[spanning]
            which = np.repeat(spanning, extra)
            step = 1 + np.arange(len(which)) - np.repeat(np.cumsum(extra) - extra, extra)  # 1, 2, ... within a spend
            at, lot_pos = row[which] + step, first[which] + step
            entry[at], lot[at] = spend_entry[which], ids[lot_pos]
            # the lots lie end to end in money space: a lot after the first is drawn from its start
            amount[at] = np.minimum(spent[which], hi[lot_pos]) - lo[lot_pos]
        drawn = amount > 0  # the ledger records no zero draws
        if not drawn.all():
            entry, lot, amount = entry[drawn], lot[drawn], amount[drawn]
        self.alloc_chunks.append((entry, lot, -amount))

    def _record_recharges(self, call_idx, call_entry, spend_entry, before, after, new_ids, lot_exp) -> None:
        """The recharge lots made before / after calls, in the order made (a lot before a call precedes it)."""
        lots_before_call = np.concatenate(([0], np.cumsum(before + after)[:-1]))  # new lots made before call k
        has_before = np.flatnonzero(before)
        has_after = np.flatnonzero(after)
        lot_no = np.concatenate((lots_before_call[has_before], lots_before_call[has_after] + before[has_after]))
        entry = np.concatenate((call_entry[has_before], spend_entry[has_after] + 1))
        calls = np.concatenate((call_idx[has_before], call_idx[has_after]))
        flag = np.concatenate((np.ones(len(has_before), bool), np.zeros(len(has_after), bool)))
        order = np.argsort(lot_no, kind="stable")
        self.recharge_chunks.append((calls[order], new_ids[lot_no[order]], entry[order], flag[order], lot_exp))
        self.recharge_cents_chunks.append(np.full(len(order), self.recharge, np.int64))

    def _run_arrears(self, times: np.ndarray, cents: np.ndarray, start: int, n: int) -> None:
        """MCA, calls [start, n): the remaining lots pay first (FIFO, expiring as before, no recharge), the rest of
        each call is billed in arrears (arrears_chunks). Every call succeeds, so each lot due by a call is recorded
        by the first call reaching it. One vectorised step per stretch between lot expiries."""
        pos = start
        while pos < n:
            self.expire_due(int(times[pos]))
            self._flush_expiries()  # recorded by this call whatever it draws
            end = min(n, int(np.searchsorted(times, self.next_expiry(), side="left")))
            c = cents[pos:end]
            spent = np.cumsum(c)
            b = self.balance()
            # call k draws the part of [S_k - c_k, S_k) below the balance; once the lots are empty, nothing
            part = np.minimum(spent, b) - np.minimum(spent - c, b)
            m = int(np.count_nonzero(part))  # a prefix: the calls before the lots ran dry
            if m:
                self._commit(
                    np.arange(pos, pos + m), times[pos : pos + m], part[:m], np.zeros(m, bool), np.zeros(m, bool), None
                )
            owed = np.flatnonzero(c > part)
            if len(owed):
                self.arrears_chunks.append((pos + owed, (c - part)[owed]))
            pos = end

    # -- flattened output --

    def spends(self):
        """(call positions, entry ids, cents drawn) of the spends, in entry order."""
        return _columns(self.spend_chunks, np.int64, np.int64, np.int64)

    def arrears(self):
        """(call positions, cents billed in arrears) of the MCA calls the lots could not pay in full."""
        return _columns(self.arrears_chunks, np.int64, np.int64)

    def recharge_cents(self) -> np.ndarray:
        """Each recharge lot's amount (the setting in force at its call), in recharge_rows order."""
        return np.concatenate(self.recharge_cents_chunks) if self.recharge_cents_chunks else np.zeros(0, np.int64)

    def allocations(self):
        return _columns(self.alloc_chunks, np.int64, np.int64, np.int64)

    def recharge_rows(self):
        return _columns(self.recharge_chunks, np.int64, np.int64, np.int64, bool, np.int64)


def _columns(chunks: list[tuple], *dtypes) -> tuple:
    """The chunks' columns, each concatenated (empty arrays of `dtypes` when there are none)."""
    if not chunks:
        return tuple(np.zeros(0, dtype) for dtype in dtypes)
    return tuple(np.concatenate(parts) for parts in zip(*chunks))
