using Microsoft.Extensions.Logging;

namespace CachifyNet.Internal;

/// <summary>
/// The entries of one function (one identity and key shape) on one backend, and the single-flight
/// machinery every backend shares: callers of one key join one execution; skip-cache callers queue
/// behind it; Invalidate and Clear doom executions that started before them; timeouts abandon
/// executions that hang. Backends implement the storage primitives and what the owner of an
/// execution does (<c>Produce</c>).
/// </summary>
internal abstract class Keyspace<TKey, TValue> : IKeyspace
    where TKey : struct, IArgsKey<TKey>
{
    private int _generation;

    protected Keyspace(BackendServices services, string identity)
    {
        Services = services;
        Identity = identity;
    }

    public BackendServices Services { get; }

    /// <summary>Function identity plus key shape: what every entry of this keyspace shares.</summary>
    public string Identity { get; }

    /// <summary>The per-key lock table: it must be empty when nothing runs.</summary>
    public AsyncKeyedLock<TKey, TValue> Locks { get; } = new();

    public int LockCount => Locks.Count;

    public virtual int? EntryCount => null;

    /// <summary>Incremented by <c>Clear</c>; an execution that started under an older generation stores nothing.</summary>
    protected int Generation => Volatile.Read(ref _generation);

    protected ILogger Logger => Services.Logger;

    /// <summary>The synchronous read of the call path (memory: the typed front; Redis: GET).</summary>
    public abstract bool TryGet(in TKey key, Binding<TKey, TValue> reader, out TValue value);

    /// <summary>A completed task for a hit, without allocating (memory only; other backends return false).</summary>
    public virtual bool TryGetTask(in TKey key, Binding<TKey, TValue> reader, out Task<TValue>? task)
    {
        task = null;
        return false;
    }

    /// <summary>Removes one entry and dooms its running execution.</summary>
    public abstract void Remove(in TKey key);

    public virtual ValueTask RemoveAsync(TKey key, CancellationToken cancellationToken)
    {
        Remove(key);
        return ValueTask.CompletedTask;
    }

    /// <summary>Removes every entry of this keyspace and dooms every running execution.</summary>
    public abstract void Clear();

    public virtual ValueTask ClearAsync(CancellationToken cancellationToken)
    {
        Clear();
        return ValueTask.CompletedTask;
    }

    /// <summary>The backend was disposed: drop every entry held locally.</summary>
    public virtual void OnBackendDisposed() => Clear();

    /// <summary>Drops local entries the store evicted on its own (memory backend); returns how many remain.</summary>
    public virtual int Sweep() => 0;

    /// <summary>
    /// The owner's work for a synchronous function: re-check the store (unless skipping the cache), run
    /// the function, store the result unless the flight is doomed. <paramref name="refreshing"/> is the
    /// never-die item being refreshed, or null for a call.
    /// </summary>
    protected abstract TValue Produce<TArgs>(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing);

    /// <summary>The owner's work for an asynchronous function.</summary>
    protected abstract Task<TValue> ProduceAsync<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing);

    /// <summary>A refresh of <paramref name="item"/> failed: keep the old value and retry later.</summary>
    protected abstract void OnRefreshFailed(ScheduledItem item, Exception error);

    /// <summary>Whether <paramref name="item"/> still stands for a live never-die entry worth refreshing.</summary>
    protected abstract bool IsCurrent(in TKey key, ScheduledItem item);

    /// <summary>
    /// A value for a caller whose soft timeout passed: the key's last value if it is younger than the
    /// reader's stale limit, even past its TTL. Backends that keep no stale values return false.
    /// </summary>
    protected virtual bool TryGetStale(in TKey key, Binding<TKey, TValue> reader, out TValue value)
    {
        value = default!;
        return false;
    }

    /// <summary>Runs the synchronous function once, timed and traced.</summary>
    protected static TValue Execute<TArgs>(Binding<TKey, TArgs, TValue> binding, in TArgs args, Flight<TValue> flight)
    {
        var activity = Telemetry.StartExecution(binding.Tags, out var started);
        try
        {
            var value = binding.Invoker.Invoke(in args, flight.Token);
            Telemetry.Executed(binding.Tags, activity, started, error: null);
            return value;
        }
        catch (Exception error)
        {
            Telemetry.Executed(binding.Tags, activity, started, error);
            throw;
        }
    }

    /// <summary>Runs the asynchronous function once, timed and traced.</summary>
    protected static async Task<TValue> ExecuteAsync<TArgs>(Binding<TKey, TArgs, TValue> binding, TArgs args, Flight<TValue> flight)
    {
        var activity = Telemetry.StartExecution(binding.Tags, out var started);
        try
        {
            var value = await binding.Invoker.InvokeAsync(in args, flight.Token).ConfigureAwait(false);
            Telemetry.Executed(binding.Tags, activity, started, error: null);
            return value;
        }
        catch (Exception error)
        {
            Telemetry.Executed(binding.Tags, activity, started, error);
            throw;
        }
    }

    /// <summary>
    /// Refuses a key that a dictionary could never find again (an argument whose Equals is not reflexive, or whose
    /// GetHashCode changes between calls): it would miss every time and leave an entry and a lock behind for good.
    /// Checked on the miss path only, where it costs little next to the execution.
    /// </summary>
    private static ArgumentException? KeyError(in TKey key, Binding<TKey, TValue> binding)
    {
        if (!key.Equals(key))
        {
            return KeyErrors.NotReflexive(binding.Name);
        }

        return key.GetHashCode() != key.GetHashCode() ? KeyErrors.UnstableHash(binding.Name) : null;
    }

    private int _targetMisses;
    private int _freshTargets;
    private int _warnedNeverHits;

    /// <summary>
    /// Counts misses of keys that carry an instance (a target, or an argument keyed by reference), and how many brought an
    /// instance never seen before. When at least
    /// half of 100 or more misses did, entries are being written per instance and never read again (a wrapper made in
    /// a per-request service): one warning says so, with the fix. Miss path only.
    /// </summary>
    private void TrackTarget(in TKey key, Binding<TKey, TValue> binding)
    {
        var instance = key.Target switch
        {
            InstanceKey self => self,
            CapturedKey captured => captured.Self,
            _ => null,
        };
        if (instance is null && binding.ReferenceMask != 0 && key.ReferenceArgument(binding.ReferenceMask) is { } argument)
        {
            instance = InstanceKey.Of(argument);
        }
        if (instance is null)
        {
            return;
        }

        binding.Lifetimes?.Check(instance, binding.Name);
        if (Volatile.Read(ref _warnedNeverHits) != 0)
        {
            return;
        }

        var fresh = Interlocked.Exchange(ref instance.Seen, 1) == 0 ? Interlocked.Increment(ref _freshTargets) : Volatile.Read(ref _freshTargets);
        var misses = Interlocked.Increment(ref _targetMisses);
        if (misses % 100 != 0)
        {
            return;
        }

        if (fresh * 2 >= misses)
        {
            if (Interlocked.Exchange(ref _warnedNeverHits, 1) == 0)
            {
                Log.NeverHits(Logger, binding.Name, misses, fresh, instance.TypeName);
            }
        }
        else if (misses >= 1000)
        {
            // A window: old history does not hide a pattern that starts later.
            Interlocked.Exchange(ref _targetMisses, 0);
            Interlocked.Exchange(ref _freshTargets, 0);
        }
    }

    /// <summary>Starts a new generation (Clear): executions that started before store nothing.</summary>
    protected void NextGeneration() => Interlocked.Increment(ref _generation);

    /// <summary>Whether a result of <paramref name="flight"/>, started under <paramref name="generation"/>, may still be stored.</summary>
    protected bool MayStore(Flight<TValue> flight, int generation) => !flight.Doomed && generation == Generation;

    // ---------------------------------------------------------------- synchronous calls

    /// <summary>The slow path of a synchronous call (the wrapper already tried <see cref="TryGet"/>).</summary>
    public TValue Invoke<TArgs>(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache)
    {
        Services.ThrowIfDisposed();
        if (KeyError(in key, binding) is { } keyError)
        {
            throw keyError;
        }

        var waitToken = binding.Invoker.ArgumentToken(in args);
        var gate = Locks.Enter(key);
        try
        {
            if (skipCache)
            {
                return InvokeExclusive(gate, in key, in args, binding, waitToken);
            }

            Telemetry.Miss(binding.Tags);
            TrackTarget(in key, binding);
            while (true)
            {
                var current = Volatile.Read(ref gate.Current);
                if (current is not null)
                {
                    if (current.TryJoin())
                    {
                        Telemetry.Joined(binding.Tags);
                        return Wait(current, in key, binding, waitToken);
                    }

                    WaitQuietly(current, Timeout.InfiniteTimeSpan, waitToken);
                    continue;
                }

                var mine = binding.NewFlight();
                if (gate.TryStart(mine))
                {
                    return Run(gate, mine, in key, in args, binding, skipCache: false, waitToken);
                }
            }
        }
        finally
        {
            Locks.Exit(key, gate);
        }
    }

    private TValue InvokeExclusive<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, CancellationToken waitToken)
    {
        // Uncontended: nobody runs and nobody queues, so no lock object is needed.
        if (!gate.HasQueue)
        {
            var first = binding.NewFlight();
            if (gate.TryStart(first))
            {
                return Run(gate, first, in key, in args, binding, skipCache: true, waitToken);
            }
        }

        gate.EnterQueue();
        try
        {
            var handle = gate.Exclusive.Lock(waitToken);
            Flight<TValue> mine;
            try
            {
                mine = StartAfterCurrent(gate, binding, waitToken);
            }
            catch
            {
                handle.Dispose();
                throw;
            }

            // The queue stays closed until this caller's execution ends (even if the caller stops waiting).
            ReleaseWhenDone(mine, handle);
            return Run(gate, mine, in key, in args, binding, skipCache: true, waitToken);
        }
        finally
        {
            gate.LeaveQueue();
        }
    }

    private Flight<TValue> StartAfterCurrent<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, Binding<TKey, TArgs, TValue> binding, CancellationToken waitToken)
    {
        while (true)
        {
            var current = Volatile.Read(ref gate.Current);
            if (current is not null)
            {
                WaitQuietly(current, Timeout.InfiniteTimeSpan, waitToken);
                continue;
            }

            var mine = binding.NewFlight();
            if (gate.TryStart(mine))
            {
                return mine;
            }
        }
    }

    /// <summary>
    /// Runs an execution this caller owns: on its own thread, or on the thread pool when the caller may
    /// have to stop waiting (a timeout is set), so that a hung function cannot hold the caller.
    /// </summary>
    private TValue Run<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, Flight<TValue> flight, in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache, CancellationToken waitToken)
    {
        if (!binding.HasTimeouts)
        {
            return Own(gate, flight, in key, in args, binding, skipCache);
        }

        Arm(gate, flight, binding);
        gate.AddRef();
        var work = new Work<TArgs>(this, gate, flight, key, args, binding, skipCache, item: null);
        ThreadPool.UnsafeQueueUserWorkItem(static work => work.Keyspace.OwnDetached(work), work, preferLocal: false);
        return Wait(flight, in key, binding, waitToken);
    }

    private TValue Own<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, Flight<TValue> flight, in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache)
    {
        TValue value;
        try
        {
            value = Produce(in key, in args, binding, flight, skipCache, refreshing: null);
        }
        catch (Exception error)
        {
            // Detach before completing: nobody may join a completed flight.
            gate.Finish(flight);
            flight.TrySetException(error);
            throw;
        }

        gate.Finish(flight);
        flight.TrySetResult(value);
        return value;
    }

    /// <summary>Runs a synchronous execution away from its callers (timeouts, refreshes). Releases the gate reference it was given.</summary>
    private void OwnDetached<TArgs>(Work<TArgs> work)
    {
        try
        {
            var value = Produce(in work.Key, in work.Args, work.Binding, work.Flight, work.SkipCache, work.Item);
            Complete(work, value, error: null);
        }
        catch (Exception error)
        {
            Complete(work, default!, error);
        }
    }

    /// <summary>
    /// Blocks until the flight ends, or the caller cancels, or (with a soft timeout) a stale value can be
    /// served; returns the result or throws the execution's exception.
    /// </summary>
    private TValue Wait(Flight<TValue> flight, in TKey key, Binding<TKey, TValue> binding, CancellationToken waitToken)
    {
        try
        {
            if (binding.SoftTimeout is { } soft && !WaitQuietly(flight, soft, waitToken) && TryGetStale(in key, binding, out var stale))
            {
                // The execution goes on and stores its result; this caller takes the last value now.
                flight.HandOverToStore();
                return stale;
            }

            WaitQuietly(flight, Timeout.InfiniteTimeSpan, waitToken);
        }
        catch (OperationCanceledException)
        {
            flight.Leave();
            throw;
        }

        return flight.Task.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Blocks until the flight ends or <paramref name="timeout"/> passes (false), ignoring the outcome;
    /// throws only when the caller cancels.
    /// </summary>
    private bool WaitQuietly(Flight<TValue> flight, TimeSpan timeout, CancellationToken waitToken)
    {
        Task task = flight.Task;
        if (task.IsCompleted)
        {
            return true;
        }

        if (timeout != Timeout.InfiniteTimeSpan)
        {
            task = task.WaitAsync(timeout, Services.Time, waitToken);
        }
        else if (waitToken.CanBeCanceled)
        {
            task = task.WaitAsync(waitToken);
        }

        task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
        if (flight.Task.IsCompleted)
        {
            return true;
        }

        waitToken.ThrowIfCancellationRequested();
        return false;
    }

    // ---------------------------------------------------------------- asynchronous calls

    /// <summary>The slow path of an asynchronous call (the wrapper already tried <see cref="TryGetTask"/>).</summary>
    public virtual Task<TValue> InvokeAsync<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache, CancellationToken cancellationToken)
    {
        if (Services.IsDisposed)
        {
            return Task.FromException<TValue>(Services.DisposedError());
        }

        if (KeyError(in key, binding) is { } keyError)
        {
            return Task.FromException<TValue>(keyError);
        }

        if (!skipCache)
        {
            Telemetry.Miss(binding.Tags);
            TrackTarget(in key, binding);
        }

        var argumentToken = binding.Invoker.ArgumentToken(in args);
        if (argumentToken.CanBeCanceled && cancellationToken.CanBeCanceled && argumentToken != cancellationToken)
        {
            return InvokeLinkedAsync(key, args, binding, skipCache, argumentToken, cancellationToken);
        }

        return Join(key, args, binding, skipCache, cancellationToken.CanBeCanceled ? cancellationToken : argumentToken);
    }

    private async Task<TValue> InvokeLinkedAsync<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache, CancellationToken first, CancellationToken second)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(first, second);
        return await Join(key, args, binding, skipCache, linked.Token).ConfigureAwait(false);
    }

    /// <summary>Joins the running execution of the key or starts one; never blocks.</summary>
    protected Task<TValue> Join<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache, CancellationToken waitToken)
    {
        if (waitToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TValue>(waitToken);
        }

        var gate = Locks.Enter(key);
        if (skipCache)
        {
            return InvokeExclusiveAsync(gate, key, args, binding, waitToken);
        }

        var release = true;
        try
        {
            while (true)
            {
                var current = Volatile.Read(ref gate.Current);
                if (current is not null)
                {
                    if (current.TryJoin())
                    {
                        Telemetry.Joined(binding.Tags);
                        return WaitAsync(current, key, binding, waitToken);
                    }

                    release = false;
                    return RetryAfterAsync(gate, current, key, args, binding, waitToken);
                }

                var mine = binding.NewFlight();
                if (gate.TryStart(mine))
                {
                    Start(gate, mine, key, args, binding, skipCache: false);
                    return WaitAsync(mine, key, binding, waitToken);
                }
            }
        }
        finally
        {
            if (release)
            {
                Locks.Exit(key, gate);
            }
        }
    }

    /// <summary>Starts an asynchronous execution this caller owns; it runs to its end whatever the callers do.</summary>
    private void Start<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, Flight<TValue> flight, TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache)
    {
        Arm(gate, flight, binding);
        gate.AddRef();
        _ = OwnAsync(new Work<TArgs>(this, gate, flight, key, args, binding, skipCache, item: null));
    }

    /// <summary>Every participant of the running execution gave up and it is being cancelled: wait for it to end, then join afresh.</summary>
    private async Task<TValue> RetryAfterAsync<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, Flight<TValue> abandoned, TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, CancellationToken waitToken)
    {
        try
        {
            await WaitQuietlyAsync(abandoned, Timeout.InfiniteTimeSpan, waitToken).ConfigureAwait(false);

            // Its owner detaches it before completing it; yield rather than spin if that has not happened yet.
            while (ReferenceEquals(Volatile.Read(ref gate.Current), abandoned))
            {
                await Task.Yield();
            }
        }
        finally
        {
            Locks.Exit(key, gate);
        }

        return await Join(key, args, binding, skipCache: false, waitToken).ConfigureAwait(false);
    }

    private async Task<TValue> InvokeExclusiveAsync<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, CancellationToken waitToken)
    {
        Flight<TValue>? mine = null;
        try
        {
            if (!gate.HasQueue)
            {
                var first = binding.NewFlight();
                if (gate.TryStart(first))
                {
                    mine = first;
                    Start(gate, mine, key, args, binding, skipCache: true);
                }
            }

            if (mine is null)
            {
                gate.EnterQueue();
                try
                {
                    var handle = await gate.Exclusive.LockAsync(waitToken).ConfigureAwait(false);
                    try
                    {
                        while (true)
                        {
                            var current = Volatile.Read(ref gate.Current);
                            if (current is not null)
                            {
                                await WaitQuietlyAsync(current, Timeout.InfiniteTimeSpan, waitToken).ConfigureAwait(false);
                                continue;
                            }

                            var next = binding.NewFlight();
                            if (gate.TryStart(next))
                            {
                                mine = next;
                                break;
                            }
                        }
                    }
                    catch
                    {
                        handle.Dispose();
                        throw;
                    }

                    // The queue stays closed until this caller's execution ends (even if the caller stops waiting).
                    ReleaseWhenDone(mine, handle);
                    Start(gate, mine, key, args, binding, skipCache: true);
                }
                finally
                {
                    gate.LeaveQueue();
                }
            }
        }
        finally
        {
            Locks.Exit(key, gate);
        }

        return await WaitAsync(mine!, key, binding, waitToken).ConfigureAwait(false);
    }

    /// <summary>Runs the owner's work to completion whatever the callers do, then completes the flight.</summary>
    private async Task OwnAsync<TArgs>(Work<TArgs> work)
    {
        try
        {
            var value = await ProduceAsync(work.Key, work.Args, work.Binding, work.Flight, work.SkipCache, work.Item).ConfigureAwait(false);
            Complete(work, value, error: null);
        }
        catch (Exception error)
        {
            Complete(work, default!, error);
        }
    }

    /// <summary>Ends an execution run away from its callers: detach, then complete, then release the gate reference.</summary>
    private void Complete<TArgs>(Work<TArgs> work, TValue value, Exception? error)
    {
        work.Flight.DisposeTimer();
        work.Gate.Finish(work.Flight);
        if (error is null)
        {
            work.Flight.TrySetResult(value);
        }
        else
        {
            work.Flight.TrySetException(error);
        }

        Locks.Exit(work.Key, work.Gate);
    }

    private Task<TValue> WaitAsync(Flight<TValue> flight, TKey key, Binding<TKey, TValue> binding, CancellationToken waitToken)
    {
        if (flight.Task.IsCompleted || (!waitToken.CanBeCanceled && binding.SoftTimeout is null))
        {
            return flight.Task;
        }

        return WaitSlowAsync(flight, key, binding, waitToken);
    }

    private async Task<TValue> WaitSlowAsync(Flight<TValue> flight, TKey key, Binding<TKey, TValue> binding, CancellationToken waitToken)
    {
        try
        {
            if (binding.SoftTimeout is { } soft
                && !await WaitQuietlyAsync(flight, soft, waitToken).ConfigureAwait(false)
                && TryGetStale(in key, binding, out var stale))
            {
                flight.HandOverToStore();
                return stale;
            }

            await WaitQuietlyAsync(flight, Timeout.InfiniteTimeSpan, waitToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            flight.Leave();
            throw;
        }

        return await flight.Task.ConfigureAwait(false);
    }

    private async Task<bool> WaitQuietlyAsync(Flight<TValue> flight, TimeSpan timeout, CancellationToken waitToken)
    {
        Task task = flight.Task;
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            task = task.WaitAsync(timeout, Services.Time, waitToken);
        }
        else if (waitToken.CanBeCanceled)
        {
            task = task.WaitAsync(waitToken);
        }

        await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (flight.Task.IsCompleted)
        {
            return true;
        }

        waitToken.ThrowIfCancellationRequested();
        return false;
    }

    // ---------------------------------------------------------------- shared by calls and refreshes

    /// <summary>Arms the hard timeout of an execution: when it passes, the execution is failed, doomed and detached.</summary>
    protected void Arm(AsyncKeyedLock<TKey, TValue>.Gate gate, Flight<TValue> flight, Binding<TKey, TValue> binding)
    {
        if (binding.HardTimeout is { } timeout)
        {
            flight.ArmTimeout(Services.Time, timeout, binding.Name, () => gate.Finish(flight));
        }
    }

    private static void ReleaseWhenDone(Flight<TValue> flight, IDisposable handle)
        => flight.Task.ContinueWith(static (_, state) => ((IDisposable)state!).Dispose(), handle, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    // ---------------------------------------------------------------- never-die refresh

    /// <summary>
    /// Refreshes a never-die entry in the background under the key's lock. Readers keep the old value
    /// meanwhile. When another execution of the key is running, the refresh waits for it and then checks
    /// whether the entry still needs refreshing (that execution usually stored a fresh value).
    /// </summary>
    internal void StartRefresh<TArgs>(TKey key, Binding<TKey, TArgs, TValue> binding, TArgs args, ScheduledItem item)
    {
        if (Services.IsDisposed || !IsCurrent(in key, item))
        {
            return;
        }

        var gate = Locks.Enter(key);
        var flight = binding.NewFlight();
        if (!gate.TryStart(flight))
        {
            var busy = Volatile.Read(ref gate.Current);
            Locks.Exit(key, gate);
            Services.BeginWork();
            var retry = new RefreshRetry<TArgs>(this, key, binding, args, item);
            if (busy is null)
            {
                ThreadPool.UnsafeQueueUserWorkItem(retry, preferLocal: false);
            }
            else
            {
                busy.Task.ContinueWith(static (_, state) => ((RefreshRetry<TArgs>)state!).Execute(), retry, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            return;
        }

        // The scheduler owns the refresh: it leaves (cancelling the function's shared token) when the backend stops.
        var registration = flight.LeaveWhen(Services.Stopping);
        Arm(gate, flight, binding);
        Services.BeginWork();

        // The outcome is taken from the flight, so a refresh abandoned at its timeout counts as failed at once.
        flight.Task.ContinueWith(
            static (task, state) => ((RefreshOutcome)state!).Complete(task),
            new RefreshOutcome(this, binding.Tags, item, registration),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

        var work = new Work<TArgs>(this, gate, flight, key, args, binding, skipCache: true, item);
        if (binding.Invoker.IsAsync)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static work => _ = work.Keyspace.OwnAsync(work), work, preferLocal: false);
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(static work => work.Keyspace.OwnDetached(work), work, preferLocal: false);
        }
    }

    /// <summary>An execution handed to another thread: what it needs to run and to release its gate reference.</summary>
    private sealed class Work<TArgs>(
        Keyspace<TKey, TValue> keyspace,
        AsyncKeyedLock<TKey, TValue>.Gate gate,
        Flight<TValue> flight,
        TKey key,
        TArgs args,
        Binding<TKey, TArgs, TValue> binding,
        bool skipCache,
        ScheduledItem? item)
    {
        public readonly TKey Key = key;
        public readonly TArgs Args = args;

        public Keyspace<TKey, TValue> Keyspace { get; } = keyspace;

        public AsyncKeyedLock<TKey, TValue>.Gate Gate { get; } = gate;

        public Flight<TValue> Flight { get; } = flight;

        public Binding<TKey, TArgs, TValue> Binding { get; } = binding;

        public bool SkipCache { get; } = skipCache;

        /// <summary>The never-die item being refreshed, or null for a call.</summary>
        public ScheduledItem? Item { get; } = item;
    }

    private sealed class RefreshOutcome(Keyspace<TKey, TValue> keyspace, Telemetry.Tags tags, ScheduledItem item, CancellationTokenRegistration registration)
    {
        public void Complete(Task<TValue> task)
        {
            try
            {
                registration.Dispose();
                Telemetry.Refreshed(tags, task.IsCompletedSuccessfully);
                if (!task.IsCompletedSuccessfully)
                {
                    keyspace.OnRefreshFailed(item, task.Exception?.InnerException ?? new OperationCanceledException());
                }
            }
            finally
            {
                keyspace.Services.EndWork();
            }
        }
    }

    private sealed class RefreshRetry<TArgs>(Keyspace<TKey, TValue> keyspace, TKey key, Binding<TKey, TArgs, TValue> binding, TArgs args, ScheduledItem item) : IThreadPoolWorkItem
    {
        public void Execute()
        {
            try
            {
                keyspace.StartRefresh(key, binding, args, item);
            }
            finally
            {
                keyspace.Services.EndWork();
            }
        }
    }
}
