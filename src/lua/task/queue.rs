//! `task.queue{maxsize=, kind="fifo"|"lifo"|"priority", compare=}`: gevent's queues.
//!
//! `put` blocks while the queue is full, `get` while it is empty; both take `{timeout=s}` and
//! then return `nil, "timeout"`. Priority queues take `{priority, value}` pairs (lowest
//! priority first, FIFO among equals) or any items ordered by a `compare(a, b)` function
//! ("a comes before b").

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use mlua::{
    AnyUserData, Function, Lua, MetaMethod, MultiValue, Table, UserData, UserDataMethods, Value,
};
use tokio::sync::Notify;

use super::{
    check_options, done_or_timed_out, ensure_can_suspend, integer_at_least, lua_methods,
    opt_seconds, timed_out, wait_until,
};

enum Store {
    Fifo(VecDeque<Value>),
    Lifo(Vec<Value>),
    Priority {
        heap: Vec<(Value, u64)>,
        next_seq: u64,
        compare: Option<Function>,
    },
}

struct Inner {
    store: RefCell<Store>,
    maxsize: usize,
    len: Cell<usize>,
    unfinished: Cell<usize>,
    not_empty: Notify,
    not_full: Notify,
    all_done: Notify,
    kind: &'static str,
}

pub(super) struct Queue(Rc<Inner>);

impl Queue {
    pub(super) fn create(_lua: &Lua, opts: Option<Table>) -> mlua::Result<Queue> {
        let (mut maxsize, mut kind, mut compare) = (0usize, "fifo", None);
        if let Some(opts) = opts {
            check_options(&opts, &["maxsize", "kind", "compare"], "task.queue")?;
            maxsize = match opts.get::<Value>("maxsize")? {
                Value::Nil => 0,
                v => integer_at_least(&v, 0, "task.queue: maxsize")?,
            };
            kind = match opts.get::<Option<String>>("kind")?.as_deref() {
                None | Some("fifo") => "fifo",
                Some("lifo") => "lifo",
                Some("priority") => "priority",
                Some(other) => {
                    return Err(mlua::Error::RuntimeError(format!(
                        "task.queue: kind must be \"fifo\", \"lifo\" or \"priority\", got \"{other}\""
                    )));
                }
            };
            compare = opts.get::<Option<Function>>("compare")?;
            if compare.is_some() && kind != "priority" {
                return Err(mlua::Error::RuntimeError(
                    "task.queue: compare is only for kind = \"priority\"".into(),
                ));
            }
        }
        let store = match kind {
            "fifo" => Store::Fifo(VecDeque::new()),
            "lifo" => Store::Lifo(Vec::new()),
            _ => Store::Priority {
                heap: Vec::new(),
                next_seq: 0,
                compare,
            },
        };
        Ok(Queue(Rc::new(Inner {
            store: RefCell::new(store),
            maxsize,
            len: Cell::new(0),
            unfinished: Cell::new(0),
            not_empty: Notify::new(),
            not_full: Notify::new(),
            all_done: Notify::new(),
            kind,
        })))
    }
}

impl Inner {
    fn is_full(&self) -> bool {
        self.maxsize > 0 && self.len.get() >= self.maxsize
    }

    fn push(&self, value: Value) -> mlua::Result<()> {
        if value.is_nil() {
            return Err(mlua::Error::RuntimeError(
                "queue:put: cannot put nil in a queue".into(),
            ));
        }
        match &mut *self.store.borrow_mut() {
            Store::Fifo(q) => q.push_back(value),
            Store::Lifo(q) => q.push(value),
            Store::Priority {
                heap,
                next_seq,
                compare,
            } => {
                if compare.is_none() {
                    priority_key(&value)?;
                }
                heap.push((value, *next_seq));
                *next_seq += 1;
                let mut i = heap.len() - 1;
                while i > 0 {
                    let parent = (i - 1) / 2;
                    if before(compare.as_ref(), &heap[i], &heap[parent])? {
                        heap.swap(i, parent);
                        i = parent;
                    } else {
                        break;
                    }
                }
            }
        }
        self.len.set(self.len.get() + 1);
        self.unfinished.set(self.unfinished.get() + 1);
        self.not_empty.notify_one();
        Ok(())
    }

    fn pop(&self) -> mlua::Result<Option<Value>> {
        let value = match &mut *self.store.borrow_mut() {
            Store::Fifo(q) => q.pop_front(),
            Store::Lifo(q) => q.pop(),
            Store::Priority { heap, compare, .. } => {
                if heap.is_empty() {
                    None
                } else {
                    let last = heap.len() - 1;
                    heap.swap(0, last);
                    let (top, _) = heap.pop().expect("heap is not empty");
                    let mut i = 0;
                    loop {
                        let (l, r) = (2 * i + 1, 2 * i + 2);
                        let mut best = i;
                        if l < heap.len() && before(compare.as_ref(), &heap[l], &heap[best])? {
                            best = l;
                        }
                        if r < heap.len() && before(compare.as_ref(), &heap[r], &heap[best])? {
                            best = r;
                        }
                        if best == i {
                            break;
                        }
                        heap.swap(i, best);
                        i = best;
                    }
                    Some(top)
                }
            }
        };
        if value.is_some() {
            self.len.set(self.len.get() - 1);
            self.not_full.notify_one();
        }
        Ok(value)
    }
}

/// The priority of a `{priority, value}` pair (a number or a string).
fn priority_key(item: &Value) -> mlua::Result<Value> {
    let Value::Table(t) = item else {
        return Err(mlua::Error::RuntimeError(format!(
            "queue:put: a priority queue takes {{priority, value}} pairs (or set compare=), got a {}",
            item.type_name()
        )));
    };
    match t.raw_get::<Value>(1)? {
        v @ (Value::Integer(_) | Value::Number(_) | Value::String(_)) => Ok(v),
        other => Err(mlua::Error::RuntimeError(format!(
            "queue:put: priority (pair[1]) must be a number or a string, got {}",
            other.type_name()
        ))),
    }
}

fn before(compare: Option<&Function>, a: &(Value, u64), b: &(Value, u64)) -> mlua::Result<bool> {
    let ord = match compare {
        Some(f) => {
            if f.call::<bool>((a.0.clone(), b.0.clone()))? {
                Ordering::Less
            } else if f.call::<bool>((b.0.clone(), a.0.clone()))? {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        None => compare_keys(&priority_key(&a.0)?, &priority_key(&b.0)?)?,
    };
    Ok(match ord {
        Ordering::Equal => a.1 < b.1,
        o => o == Ordering::Less,
    })
}

fn compare_keys(a: &Value, b: &Value) -> mlua::Result<Ordering> {
    let num = |v: &Value| match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    };
    match (a, b) {
        (Value::String(x), Value::String(y)) => Ok(x.as_bytes().cmp(&y.as_bytes())),
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => Ok(x.partial_cmp(&y).unwrap_or(Ordering::Equal)),
            _ => Err(mlua::Error::RuntimeError(format!(
                "queue: cannot compare priorities of types {} and {}",
                a.type_name(),
                b.type_name()
            ))),
        },
    }
}

/// `{timeout = s}` or a bare number of seconds.
fn timeout_of(opts: &Value, what: &str) -> mlua::Result<Option<Duration>> {
    match opts {
        Value::Table(t) => {
            check_options(t, &["timeout"], what)?;
            opt_seconds(&t.get::<Value>("timeout")?, &format!("{what} timeout"))
        }
        other => opt_seconds(other, &format!("{what} timeout")),
    }
}

impl UserData for Queue {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_async_method("_put", |lua, this, (value, opts): (Value, Value)| {
            let allowed = ensure_can_suspend(&lua, "queue:put");
            let q = Rc::clone(&this.0);
            async move {
                allowed?;
                let timeout = timeout_of(&opts, "queue:put")?;
                if !wait_until(&q.not_full, timeout, || !q.is_full()).await {
                    return timed_out(&lua);
                }
                q.push(value)?;
                Ok(MultiValue::from_iter([Value::Boolean(true)]))
            }
        });
        methods.add_async_method("_get", |lua, this, opts: Value| {
            let allowed = ensure_can_suspend(&lua, "queue:get");
            let q = Rc::clone(&this.0);
            async move {
                allowed?;
                let timeout = timeout_of(&opts, "queue:get")?;
                let wait = async {
                    loop {
                        let notified = q.not_empty.notified();
                        match q.pop() {
                            Ok(Some(v)) => return Ok(v),
                            Ok(None) => notified.await,
                            Err(e) => return Err(e),
                        }
                    }
                };
                let value = match timeout {
                    None => wait.await?,
                    Some(d) => match tokio::time::timeout(d, wait).await {
                        Ok(v) => v?,
                        Err(_) => return timed_out(&lua),
                    },
                };
                Ok(MultiValue::from_iter([value]))
            }
        });
        methods.add_method("_put_check", |_, _, opts: Value| {
            timeout_of(&opts, "queue:put").map(|_| ())
        });
        methods.add_method("_get_check", |_, _, opts: Value| {
            timeout_of(&opts, "queue:get").map(|_| ())
        });
        methods.add_method("try_put", |_, this, value: Value| {
            if this.0.is_full() {
                return Ok(false);
            }
            this.0.push(value)?;
            Ok(true)
        });
        methods.add_method("try_get", |_, this, ()| this.0.pop());
        methods.add_method("task_done", |_, this, ()| {
            let n = this.0.unfinished.get();
            if n == 0 {
                return Err(mlua::Error::RuntimeError(
                    "queue:task_done: called more times than items were put".into(),
                ));
            }
            this.0.unfinished.set(n - 1);
            if n == 1 {
                this.0.all_done.notify_waiters();
            }
            Ok(())
        });
        methods.add_async_method("join", |lua, this, timeout: Value| {
            let allowed = ensure_can_suspend(&lua, "queue:join");
            let q = Rc::clone(&this.0);
            async move {
                allowed?;
                let timeout = opt_seconds(&timeout, "queue:join timeout")?;
                let done = wait_until(&q.all_done, timeout, || q.unfinished.get() == 0).await;
                done_or_timed_out(&lua, done)
            }
        });
        methods.add_method("len", |_, this, ()| Ok(this.0.len.get()));
        methods.add_method("empty", |_, this, ()| Ok(this.0.len.get() == 0));
        methods.add_method("full", |_, this, ()| Ok(this.0.is_full()));
        methods.add_meta_function(MetaMethod::Index, |lua, (_, key): (AnyUserData, Value)| {
            lua_methods(lua, "Queue")?.raw_get::<Value>(key)
        });
        methods.add_meta_method(MetaMethod::Len, |_, this, ()| Ok(this.0.len.get()));
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            let max = if this.0.maxsize == 0 {
                "unbounded".to_string()
            } else {
                this.0.maxsize.to_string()
            };
            Ok(format!(
                "queue ({}, {} items, max {max})",
                this.0.kind,
                this.0.len.get()
            ))
        });
    }
}
