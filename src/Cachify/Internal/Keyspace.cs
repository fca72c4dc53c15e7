using Microsoft.Extensions.Logging;

namespace CachifyNet.Internal;

/// <summary>
/// The entries of one function (one identity and key shape) on one backend, and the single-flight
/// machinery every backend shares: callers of one key join one execution; skip-cache callers queue
/// behind it; Invalidate and Clear doom executions that started before them.
/// Backends implement the storage primitives and what the owner of an execution does (<c>Produce</c>).
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

    /// <summary>The per-key lock table (exposed for tests: it must be empty when nothing runs).</summary>
    public AsyncKeyedLock<TKey, TValue> Locks { get; } = new();

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

    /// <summary>The backend was disposed: drop every entry held locally.</summary>
    public virtual void OnBackendDisposed() => Clear();

    public virtual ValueTask ClearAsync(CancellationToken cancellationToken)
    {
        Clear();
        return ValueTask.CompletedTask;
    }

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

    /// <summary>Starts a new generation (Clear): executions that started before store nothing.</summary>
    protected void NextGeneration() => Interlocked.Increment(ref _generation);

    /// <summary>Whether a result of <paramref name="flight"/>, started under <paramref name="generation"/>, may still be stored.</summary>
    protected bool MayStore(Flight<TValue> flight, int generation) => !flight.Doomed && generation == Generation;

    // ---------------------------------------------------------------- synchronous calls

    /// <summary>The slow path of a synchronous call (the wrapper already tried <see cref="TryGet"/>).</summary>
    public TValue Invoke<TArgs>(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache)
    {
        Services.ThrowIfDisposed();
        var waitToken = binding.Invoker.ArgumentToken(in args);
        var gate = Locks.Enter(key);
        try
        {
            if (skipCache)
            {
                return InvokeExclusive(gate, in key, in args, binding, waitToken);
            }

            Telemetry.Miss(binding.Tags);
            while (true)
            {
                var current = Volatile.Read(ref gate.Current);
                if (current is not null)
                {
                    if (current.TryJoin())
                    {
                        Telemetry.Joined(binding.Tags);
                        return Wait(current, waitToken);
                    }

                    WaitQuietly(current, waitToken);
                    continue;
                }

                var mine = binding.NewFlight();
                if (gate.TryStart(mine))
                {
                    return Own(gate, mine, in key, in args, binding, skipCache: false);
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
        using (gate.Exclusive.Lock(waitToken))
        {
            while (true)
            {
                var current = Volatile.Read(ref gate.Current);
                if (current is not null)
                {
                    WaitQuietly(current, waitToken);
                    continue;
                }

                var mine = binding.NewFlight();
                if (gate.TryStart(mine))
                {
                    return Own(gate, mine, in key, in args, binding, skipCache: true);
                }
            }
        }
    }

    private TValue Own<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, Flight<TValue> flight, in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache)
    {
        // A synchronous owner runs the function on its own thread: it never leaves its execution.
        flight.TryJoin();
        try
        {
            var value = Produce(in key, in args, binding, flight, skipCache, refreshing: null);
            flight.TrySetResult(value);
            return value;
        }
        catch (Exception error)
        {
            flight.TrySetException(error);
            throw;
        }
        finally
        {
            gate.Finish(flight);
        }
    }

    /// <summary>Blocks until the flight ends or the caller cancels; returns its result or throws its exception.</summary>
    private static TValue Wait(Flight<TValue> flight, CancellationToken waitToken)
    {
        try
        {
            WaitQuietly(flight, waitToken);
        }
        catch (OperationCanceledException)
        {
            flight.Leave();
            throw;
        }

        return flight.Task.GetAwaiter().GetResult();
    }

    /// <summary>Blocks until the flight ends, ignoring its outcome; throws only when the caller cancels.</summary>
    private static void WaitQuietly(Flight<TValue> flight, CancellationToken waitToken)
    {
        Task task = flight.Task;
        if (task.IsCompleted)
        {
            return;
        }

        if (waitToken.CanBeCanceled)
        {
            task = task.WaitAsync(waitToken);
        }

        task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
        if (!flight.Task.IsCompleted)
        {
            waitToken.ThrowIfCancellationRequested();
        }
    }

    // ---------------------------------------------------------------- asynchronous calls

    /// <summary>The slow path of an asynchronous call (the wrapper already tried <see cref="TryGetTask"/>).</summary>
    public virtual Task<TValue> InvokeAsync<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache, CancellationToken cancellationToken)
    {
        if (Services.IsDisposed)
        {
            return Task.FromException<TValue>(Services.DisposedError());
        }

        if (!skipCache)
        {
            Telemetry.Miss(binding.Tags);
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
                        return WaitAsync(current, waitToken);
                    }

                    release = false;
                    return RetryAfterAsync(gate, current, key, args, binding, waitToken);
                }

                var mine = binding.NewFlight();
                if (gate.TryStart(mine))
                {
                    mine.TryJoin();
                    gate.AddRef();
                    _ = OwnAsync(gate, mine, key, args, binding, skipCache: false, refreshing: null);
                    return WaitAsync(mine, waitToken);
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

    private async Task<TValue> RetryAfterAsync<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, Flight<TValue> abandoned, TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, CancellationToken waitToken)
    {
        try
        {
            await WaitQuietlyAsync(abandoned, waitToken).ConfigureAwait(false);
        }
        finally
        {
            Locks.Exit(key, gate);
        }

        return await Join(key, args, binding, skipCache: false, waitToken).ConfigureAwait(false);
    }

    private async Task<TValue> InvokeExclusiveAsync<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, CancellationToken waitToken)
    {
        try
        {
            Flight<TValue> mine;
            using (await gate.Exclusive.LockAsync(waitToken).ConfigureAwait(false))
            {
                while (true)
                {
                    var current = Volatile.Read(ref gate.Current);
                    if (current is not null)
                    {
                        await WaitQuietlyAsync(current, waitToken).ConfigureAwait(false);
                        continue;
                    }

                    mine = binding.NewFlight();
                    if (gate.TryStart(mine))
                    {
                        break;
                    }
                }

                mine.TryJoin();
                gate.AddRef();
                _ = OwnAsync(gate, mine, key, args, binding, skipCache: true, refreshing: null);

                // Hold the queue until this caller's execution ends, so skip-cache callers run one after another.
                await WaitQuietlyAsync(mine, CancellationToken.None).ConfigureAwait(false);
            }

            return await WaitAsync(mine, waitToken).ConfigureAwait(false);
        }
        finally
        {
            Locks.Exit(key, gate);
        }
    }

    /// <summary>Runs the owner's work to completion whatever the callers do, then completes the flight.</summary>
    private async Task OwnAsync<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, Flight<TValue> flight, TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache, ScheduledItem? refreshing)
    {
        try
        {
            var value = await ProduceAsync(key, args, binding, flight, skipCache, refreshing).ConfigureAwait(false);
            flight.TrySetResult(value);
            if (refreshing is not null)
            {
                Telemetry.Refreshed(binding.Tags, success: true);
            }
        }
        catch (Exception error)
        {
            flight.TrySetException(error);
            if (refreshing is not null)
            {
                Telemetry.Refreshed(binding.Tags, success: false);
                OnRefreshFailed(refreshing, error);
            }
        }
        finally
        {
            gate.Finish(flight);
            Locks.Exit(key, gate);
        }
    }

    private static Task<TValue> WaitAsync(Flight<TValue> flight, CancellationToken waitToken)
    {
        if (!waitToken.CanBeCanceled || flight.Task.IsCompleted)
        {
            return flight.Task;
        }

        return WaitSlowAsync(flight, waitToken);

        static async Task<TValue> WaitSlowAsync(Flight<TValue> flight, CancellationToken waitToken)
        {
            try
            {
                await ((Task)flight.Task.WaitAsync(waitToken)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            finally
            {
                if (!flight.Task.IsCompleted)
                {
                    flight.Leave();
                }
            }

            if (!flight.Task.IsCompleted)
            {
                waitToken.ThrowIfCancellationRequested();
            }

            return await flight.Task.ConfigureAwait(false);
        }
    }

    private static async Task WaitQuietlyAsync(Flight<TValue> flight, CancellationToken waitToken)
    {
        Task task = flight.Task;
        if (waitToken.CanBeCanceled)
        {
            task = task.WaitAsync(waitToken);
        }

        await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!flight.Task.IsCompleted)
        {
            waitToken.ThrowIfCancellationRequested();
        }
    }

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

        // The scheduler is the refresh's participant: the function's shared token is cancelled on dispose.
        var registration = flight.JoinUntil(Services.Stopping);
        Services.BeginWork();
        var work = new RefreshWork<TArgs>(this, gate, flight, key, args, binding, item, registration);
        ThreadPool.UnsafeQueueUserWorkItem(
            static work => _ = work.Keyspace.RefreshAsync(work),
            work,
            preferLocal: false);
    }

    private async Task RefreshAsync<TArgs>(RefreshWork<TArgs> work)
    {
        try
        {
            await RefreshCoreAsync(work).ConfigureAwait(false);
        }
        finally
        {
            work.Registration.Dispose();
            Services.EndWork();
        }
    }

    private async Task RefreshCoreAsync<TArgs>(RefreshWork<TArgs> work)
    {
        if (work.Binding.Invoker.IsAsync)
        {
            // OwnAsync releases the gate reference taken by StartRefresh.
            await OwnAsync(work.Gate, work.Flight, work.Key, work.Args, work.Binding, skipCache: true, work.Item).ConfigureAwait(false);
            return;
        }

        try
        {
            var value = Produce(in work.Key, in work.Args, work.Binding, work.Flight, skipCache: true, work.Item);
            work.Flight.TrySetResult(value);
            Telemetry.Refreshed(work.Binding.Tags, success: true);
        }
        catch (Exception error)
        {
            work.Flight.TrySetException(error);
            Telemetry.Refreshed(work.Binding.Tags, success: false);
            OnRefreshFailed(work.Item, error);
        }
        finally
        {
            work.Gate.Finish(work.Flight);
            Locks.Exit(work.Key, work.Gate);
        }
    }

    private sealed class RefreshWork<TArgs>(
        Keyspace<TKey, TValue> keyspace,
        AsyncKeyedLock<TKey, TValue>.Gate gate,
        Flight<TValue> flight,
        TKey key,
        TArgs args,
        Binding<TKey, TArgs, TValue> binding,
        ScheduledItem item,
        CancellationTokenRegistration registration)
    {
        public readonly TKey Key = key;
        public readonly TArgs Args = args;

        public Keyspace<TKey, TValue> Keyspace { get; } = keyspace;

        public AsyncKeyedLock<TKey, TValue>.Gate Gate { get; } = gate;

        public Flight<TValue> Flight { get; } = flight;

        public Binding<TKey, TArgs, TValue> Binding { get; } = binding;

        public ScheduledItem Item { get; } = item;

        public CancellationTokenRegistration Registration { get; } = registration;
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
