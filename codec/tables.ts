// Memory regions and row tables.
//
// Everything lives in linear memory and is allocated by a bump allocator: the state block, the
// receive / request / scratch / extack regions once in init(), the row tables at their initial
// capacity, and a table's new home each time it fills up. A full table doubles and is copied to
// the end of the heap; its old region is abandoned (the process is short-lived). memory.grow
// detaches every view the host holds, so the host re-reads the bases from the state block and
// rebuilds its views after every parse().
import {
  ST_ROUTE_BASE, ST_NH_BASE, ST_LINK_BASE, ST_ADDR_BASE, ST_RECV, ST_REQUEST, ST_SCRATCH,
  ST_SCRATCH_NH, ST_EXTACK, ST_HEAP_TOP, ST_GROWS, STATE_SIZE, RECV_SIZE, REQUEST_SIZE,
  SCRATCH_ROW_SIZE, SCRATCH_NH_CAP, EXTACK_CAP, ROUTE_ROW, NEXTHOP_ROW, LINK_ROW, ADDR_ROW,
  ROUTE_CAP_INIT, NH_CAP_INIT, LINK_CAP_INIT, ADDR_CAP_INIT, ST_NEIGH_BASE, NEIGH_ROW, NEIGH_CAP_INIT,
} from "./layout";

const PAGE: usize = 65536;
const ALIGN: usize = 16;

// address of the state block (0 until init())
export let state: usize = 0;
let heapTop: usize = 0;

// Returns `size` bytes at the end of the heap, growing memory as needed; 0 when memory is exhausted.
export function bump(size: usize): usize {
  const start = (heapTop + ALIGN - 1) & ~(ALIGN - 1);
  if (size > <usize>0xffffffff - start - PAGE) return 0;
  const end = start + size;
  const have = (<usize>memory.size()) * PAGE;
  if (end > have) {
    const pages = <i32>((end - have + PAGE - 1) / PAGE);
    if (memory.grow(pages) < 0) return 0;
  }
  heapTop = end;
  store<u32>(state + ST_HEAP_TOP, <u32>heapTop);
  return start;
}

@inline export function stateWord(off: usize): u32 {
  return load<u32>(state + off);
}

@inline export function setStateWord(off: usize, v: u32): void {
  store<u32>(state + off, v);
}

function allocTable(off: usize, row: usize, cap: usize): bool {
  const base = bump(row * cap);
  if (base == 0) return false;
  setStateWord(off, <u32>base);
  setStateWord(off + 4, 0);
  setStateWord(off + 8, <u32>cap);
  return true;
}

export function initRegions(): bool {
  if (state != 0) return true;
  // keep the first bytes unused, so that 0 is never the address of anything
  heapTop = __heap_base < ALIGN * 4 ? ALIGN * 4 : __heap_base;
  // the state block itself comes first, so that bump() can record the heap top in it
  const s = (heapTop + ALIGN - 1) & ~(ALIGN - 1);
  const need = s + STATE_SIZE;
  const have = (<usize>memory.size()) * PAGE;
  if (need > have && memory.grow(<i32>((need - have + PAGE - 1) / PAGE)) < 0) return false;
  state = s;
  heapTop = need;
  memory.fill(state, 0, STATE_SIZE);
  const recv = bump(RECV_SIZE);
  const req = bump(REQUEST_SIZE);
  const scratch = bump(SCRATCH_ROW_SIZE);
  const scratchNh = bump(SCRATCH_NH_CAP * NEXTHOP_ROW);
  const extack = bump(EXTACK_CAP);
  if (recv == 0 || req == 0 || scratch == 0 || scratchNh == 0 || extack == 0) return false;
  setStateWord(ST_RECV, <u32>recv);
  setStateWord(ST_REQUEST, <u32>req);
  setStateWord(ST_SCRATCH, <u32>scratch);
  setStateWord(ST_SCRATCH_NH, <u32>scratchNh);
  setStateWord(ST_EXTACK, <u32>extack);
  return (
    allocTable(ST_ROUTE_BASE, ROUTE_ROW, ROUTE_CAP_INIT) &&
    allocTable(ST_NH_BASE, NEXTHOP_ROW, NH_CAP_INIT) &&
    allocTable(ST_LINK_BASE, LINK_ROW, LINK_CAP_INIT) &&
    allocTable(ST_ADDR_BASE, ADDR_ROW, ADDR_CAP_INIT) &&
    allocTable(ST_NEIGH_BASE, NEIGH_ROW, NEIGH_CAP_INIT)
  );
}

// Makes room for `need` rows after the committed ones of the table whose (base, count, cap)
// triple starts at `off`. Moves the table when it is full. False when memory is exhausted.
@inline export function ensureRows(off: usize, row: usize, need: usize): bool {
  // the check inline (once per row parsed), the move out of line
  return <usize>stateWord(off + 8) - <usize>stateWord(off + 4) >= need || growRows(off, row, need);
}

function growRows(off: usize, row: usize, need: usize): bool {
  const count = <usize>stateWord(off + 4);
  const cap = <usize>stateWord(off + 8);
  let ncap = cap * 2;
  while (ncap - count < need) ncap *= 2;
  if (ncap > <usize>0x7fffffff / row) return false;
  const nbase = bump(ncap * row);
  if (nbase == 0) return false;
  memory.copy(nbase, <usize>stateWord(off), count * row);
  setStateWord(off, <u32>nbase);
  setStateWord(off + 8, <u32>ncap);
  setStateWord(ST_GROWS, stateWord(ST_GROWS) + 1);
  return true;
}

// Address of row `i` (committed or being written) of the table at `off`.
@inline export function rowAt(off: usize, row: usize, i: usize): usize {
  return <usize>stateWord(off) + i * row;
}

// Opens the next row of the table at `off` for the message at `msg`: zeroed, with the
// nlmsghdr's type, flags, seq and pid copied in. 0 when memory is exhausted. The row counts
// only once the parser commits it with commitRow().
export function openRow(off: usize, row: usize, msg: usize): usize {
  if (!ensureRows(off, row, 1)) return 0;
  const r = rowAt(off, row, <usize>stateWord(off + 4));
  memory.fill(r, 0, row);
  store<u64>(r, load<u64>(msg + 4)); // nlmsg_type, flags, seq (stores: a 12-byte memory.copy is a call out)
  store<u32>(r, load<u32>(msg + 12), 8); // nlmsg_pid
  return r;
}

@inline export function commitRow(off: usize): void {
  setStateWord(off + 4, stateWord(off + 4) + 1);
}
