//! usertests: tests of the kernel's system calls, memory management and file
//! system, and the yardstick of the lazy-allocation lab.
//!
//! `usertests` runs every test, `usertests NAME...` the named ones (in that
//! order), `usertests -l` lists the names. `-k TOKEN` appends ` [TOKEN]` to
//! every verdict line (see `user::harness`); `-t` also prints how many clock
//! ticks each test took. `usertests -w` counts the free pages first, says
//! `usertests: waiting for arguments`, and then reads the rest of its
//! command line (`-k TOKEN NAME...`) as one line from standard input: the
//! grader snapshots the machine while it waits, once per grading, and starts
//! each test's VM from there, so that no VM boots or makes that first count
//! itself.
//!
//! Each test is a function run in a child process of its own: it passes if
//! the child exits with status 0, and a test that fails (or crashes, or is
//! killed) does not stop the others. Output, per test, is one line `test
//! NAME: OK` or `test NAME: FAILED` (a failing test says why on the line
//! before, prefixed with its name), then `ALL TESTS PASSED` or `SOME TESTS
//! FAILED`.
//!
//! As xv6's usertests does, the run counts the free physical pages before the
//! first test and after the last, and fails with `FAILED -- lost some free
//! pages AFTER (out of BEFORE)` if the kernel lost some. Before the second
//! count it waits until every process a test left behind has gone, so that
//! only memory the kernel really lost is missing. Tests that exist to find
//! lost pages are also counted around one by one: such a test fails
//! (`NAME: leaked about N pages (BEFORE free before, AFTER after) over the
//! test`) if the kernel has fewer free pages after it than before. A count
//! serves as the next test's "before" and as the run's last count when no
//! test ran in between, so that a run of one test counts twice, not four
//! times.
//!
//! The tests are xv6's (same intent, our own code), plus tests aimed at the
//! mistakes students make in the lazy-allocation lab (module `lazy`), at its
//! edges (module `edges`), and with breaks in the middle of a page and
//! faults with memory exhausted (module `brk`). The runner itself never
//! allocates, so it keeps reporting when the heap is what the kernel breaks.

#![no_std]
#![no_main]

mod brk;
mod edges;
mod files;
mod lazy;
mod memory;
mod pointers;
mod probe;
mod procs;

use user::harness::{self, NPROC, Reporter};
use user::{Args, ByteStr, StaticCell, eprintln, println};

user::entry!(main);

/// One test: its name on the command line and in verdicts, and its body,
/// which runs in a child process and fails by exiting with a non-zero status
/// (normally through `fail!`).
struct Test {
    name: &'static str,
    run: fn(),
    /// Whether the runner counts free pages before and after the test, and
    /// fails it if it lost some (its body may size its work from
    /// [`probe::free_at_start`]).
    counted: bool,
}

impl Test {
    const fn new(name: &'static str, run: fn()) -> Test {
        Test {
            name,
            run,
            counted: false,
        }
    }

    /// A test that must lose no page, counted around.
    const fn counted(name: &'static str, run: fn()) -> Test {
        Test {
            name,
            run,
            counted: true,
        }
    }
}

/// Every test, in the order a full run takes them: bad arguments to system
/// calls first, then files, processes, memory, and the lazy-lab tests.
const TESTS: &[Test] = &[
    // Bad pointers and strings handed to system calls.
    Test::new("copyin", pointers::copyin),
    Test::new("copyout", pointers::copyout),
    Test::new("copyinstr1", pointers::copyinstr1),
    Test::new("copyinstr2", pointers::copyinstr2),
    Test::new("copyinstr3", pointers::copyinstr3),
    Test::new("rwsbrk", pointers::rwsbrk),
    Test::new("pgbug", pointers::pgbug),
    Test::new("validatetest", pointers::validatetest),
    Test::new("argptest", pointers::argptest),
    Test::new("badarg", pointers::badarg),
    Test::new("bigargtest", pointers::bigargtest),
    // Files and directories.
    Test::new("truncate1", files::truncate1),
    Test::new("truncate2", files::truncate2),
    Test::new("truncate3", files::truncate3),
    Test::new("openiput", files::openiput),
    Test::new("exitiput", files::exitiput),
    Test::new("iput", files::iput),
    Test::new("opentest", files::opentest),
    Test::new("writetest", files::writetest),
    Test::new("writebig", files::writebig),
    Test::new("createtest", files::createtest),
    Test::new("dirtest", files::dirtest),
    Test::new("sharedfd", files::sharedfd),
    Test::new("fourfiles", files::fourfiles),
    Test::new("createdelete", files::createdelete),
    Test::new("unlinkread", files::unlinkread),
    Test::new("linktest", files::linktest),
    Test::new("concreate", files::concreate),
    Test::new("linkunlink", files::linkunlink),
    Test::new("subdir", files::subdir),
    Test::new("bigwrite", files::bigwrite),
    Test::new("bigfile", files::bigfile),
    Test::new("fourteen", files::fourteen),
    Test::new("rmdot", files::rmdot),
    Test::new("dirfile", files::dirfile),
    Test::new("iref", files::iref),
    Test::new("bigdir", files::bigdir),
    // Processes.
    Test::new("exectest", procs::exectest),
    Test::new("pipe1", procs::pipe1),
    Test::new("killstatus", procs::killstatus),
    Test::new("preempt", procs::preempt),
    Test::new("exitwait", procs::exitwait),
    Test::new("reparent", procs::reparent),
    Test::new("twochildren", procs::twochildren),
    Test::new("forkfork", procs::forkfork),
    Test::new("forkforkfork", procs::forkforkfork),
    Test::new("reparent2", procs::reparent2),
    Test::new("forktest", procs::forktest),
    // Memory.
    Test::new("mem", memory::mem),
    Test::new("sbrkbasic", memory::sbrkbasic),
    Test::new("sbrkmuch", memory::sbrkmuch),
    Test::new("kernmem", memory::kernmem),
    Test::new("MAXVAplus", memory::maxvaplus),
    Test::new("sbrkfail", memory::sbrkfail),
    Test::new("sbrkarg", memory::sbrkarg),
    Test::new("bsstest", memory::bsstest),
    Test::new("stacktest", memory::stacktest),
    Test::new("textwrite", memory::textwrite),
    Test::new("sbrkbugs", memory::sbrkbugs),
    Test::new("sbrklast", memory::sbrklast),
    Test::new("sbrk8000", memory::sbrk8000),
    Test::new("execout", memory::execout),
    // The lazy-allocation lab's own tests.
    Test::new("lazyrw", lazy::lazyrw),
    Test::new("lazypipe", lazy::lazypipe),
    Test::new("lazystr", lazy::lazystr),
    Test::new("lazyexec", lazy::lazyexec),
    Test::new("lazyzero", lazy::lazyzero),
    Test::new("lazybounds", lazy::lazybounds),
    Test::new("lazyguard", lazy::lazyguard),
    Test::new("lazyfork", lazy::lazyfork),
    Test::new("lazyalign", lazy::lazyalign),
    Test::new("sbrktop", lazy::sbrktop),
    // The lazy lab's edges: out of memory, buffers across the break, high
    // breaks, a stack in the heap.
    Test::counted("oomfork", edges::oomfork),
    Test::counted("oomread", edges::oomread),
    Test::new("crossbrk", edges::crossbrk),
    Test::counted("sbrkhigh", edges::sbrkhigh),
    Test::new("heapstack", edges::heapstack),
    // A break in the middle of a page, and faults with memory exhausted.
    Test::counted("brkshrink", brk::brkshrink),
    Test::counted("brkexit", brk::brkexit),
    Test::new("brkfork", brk::brkfork),
    Test::counted("brkoom", brk::brkoom),
];

/// How long (clock ticks) to wait for a test's leftover processes to go
/// before counting free memory anyway.
const SETTLE_TICKS: i32 = 100;

/// What the command line asked for.
struct Options {
    /// `-k TOKEN`.
    token: Option<&'static [u8]>,
    /// `-l`: list the test names and stop.
    list: bool,
    /// `-t`: report each test's (and each free-page count's) duration.
    timing: bool,
    /// `-w`: count first, then read the rest of the command line from
    /// standard input.
    wait: bool,
    /// Indices into `TESTS` of the tests named, in order (none: all).
    chosen: [usize; MAX_CHOSEN],
    nchosen: usize,
}

/// Most test names one command line can give (xv6's exec takes 32 arguments
/// in all).
const MAX_CHOSEN: usize = 32;

const USAGE: &str = "usage: usertests [-k TOKEN] [-t] [-l] [-w] [NAME...]";

/// What `-w` prints once it waits for the rest of its command line.
const WAITING: &str = "usertests: waiting for arguments";

/// The line `-w` reads: xv6's console gives at most this much at once.
static LINE: StaticCell<[u8; 128]> = StaticCell::new([0; 128]);

fn main(args: Args) -> i32 {
    let Some(mut opts) = parse(args.iter().skip(1).map(|a| a.to_bytes())) else {
        eprintln!("{USAGE}");
        return 2;
    };
    if opts.list {
        for t in TESTS {
            println!("{}", t.name);
        }
        return 0;
    }
    // Process slots and free pages as they are before any test: afterwards
    // both must come back.
    let slots = harness::spare_processes(NPROC);
    // A count made since the last test ran, if any: it may stand for the
    // next count.
    let mut fresh = count_free(opts.timing);
    let free0 = fresh;
    if opts.wait {
        println!("{WAITING}");
        let line = LINE.take();
        let Some(rest) = read_line(line) else {
            eprintln!("usertests: -w: no arguments on standard input");
            return 2;
        };
        let timing = opts.timing;
        let more = parse(rest.split(|&b| b == b' ').filter(|w| !w.is_empty()));
        let Some(more) = more.filter(|m| !m.list && !m.wait) else {
            eprintln!("{USAGE}");
            return 2;
        };
        opts = Options {
            timing: timing || more.timing,
            ..more
        };
    }
    // The program's own name, not argv[0]: the grader runs it under a
    // random one.
    let report = Reporter::start("usertests", opts.token);

    // No names means every test, in table order.
    let every: [usize; TESTS.len()] = core::array::from_fn(|i| i);
    let order = if opts.nchosen == 0 {
        &every[..]
    } else {
        &opts.chosen[..opts.nchosen]
    };
    let mut all_ok = true;
    for &i in order {
        let test = &TESTS[i];
        harness::set_test_name(test.name);
        let before = fresh.or_else(|| test.counted.then(|| count_free(opts.timing)).flatten());
        let start = user::uptime();
        let mut ok = match before {
            None if test.counted => {
                println!("{}: could not count free pages before it", test.name);
                false
            }
            _ => {
                probe::set_free_at_start(before.map_or(0, |count| count.pages()));
                fresh = None;
                harness::run_test(test.name, test.run)
            }
        };
        if opts.timing {
            println!("time {}: {} ticks", test.name, user::uptime() - start);
        }
        // The next test (and any count) must not meet this one's leftovers.
        if !harness::settle(slots, SETTLE_TICKS) {
            println!(
                "usertests: {}: processes left behind did not exit",
                test.name
            );
        }
        if test.counted
            && let Some(before) = before
        {
            fresh = count_free(opts.timing);
            match fresh {
                Some(after) if after < before => {
                    println!(
                        "{}: {} over the test",
                        test.name,
                        harness::Leak { before, after }
                    );
                    ok = false;
                }
                Some(_) => {}
                None => {
                    println!("{}: could not count free pages after it", test.name);
                    ok = false;
                }
            }
        }
        report.test(test.name, ok);
        all_ok &= ok;
    }

    let free1 = fresh.or_else(|| count_free(opts.timing));
    match (free0, free1) {
        (Some(before), Some(after)) if after < before => {
            report.verdict(format_args!(
                "FAILED -- lost some free pages {after} (out of {before})"
            ));
            all_ok = false;
        }
        (Some(_), Some(_)) => {}
        _ => {
            println!("usertests: could not count free pages");
            all_ok = false;
        }
    }
    report.summary(all_ok);
    if all_ok { 0 } else { 1 }
}

/// Counts the free pages (see [`harness::countfree`]); with `timing`, says
/// how long it took.
fn count_free(timing: bool) -> Option<harness::FreePages> {
    let start = user::uptime();
    let count = harness::countfree();
    if timing {
        println!("time free-page count: {} ticks", user::uptime() - start);
    }
    count
}

/// Reads one line from standard input into `buf`, without its newline;
/// `None` at end of file or for a line longer than `buf`.
fn read_line(buf: &'static mut [u8]) -> Option<&'static [u8]> {
    let mut len = 0;
    while len < buf.len() {
        match user::read(0, &mut buf[len..len + 1]) {
            Ok(1) if buf[len] == b'\n' => return Some(&buf[..len]),
            Ok(1) => len += 1,
            _ => return None,
        }
    }
    None
}

/// Parses the command line's arguments (after the program's name); `None`
/// means a usage error (which has been explained on standard error when it
/// is more than a bad option).
fn parse(args: impl Iterator<Item = &'static [u8]>) -> Option<Options> {
    let mut opts = Options {
        token: None,
        list: false,
        timing: false,
        wait: false,
        chosen: [0; MAX_CHOSEN],
        nchosen: 0,
    };
    let mut rest = args;
    while let Some(arg) = rest.next() {
        match arg {
            b"-k" => {
                let token = rest.next()?;
                if !harness::valid_token(token) {
                    eprintln!("usertests: bad token for -k");
                    return None;
                }
                opts.token = Some(token);
            }
            b"-l" => opts.list = true,
            b"-t" => opts.timing = true,
            b"-w" => opts.wait = true,
            name if name.starts_with(b"-") => return None,
            name => {
                let Some(i) = TESTS.iter().position(|t| t.name.as_bytes() == name) else {
                    eprintln!("usertests: no test named {}", ByteStr(name));
                    return None;
                };
                *opts.chosen.get_mut(opts.nchosen)? = i;
                opts.nchosen += 1;
            }
        }
    }
    Some(opts)
}
