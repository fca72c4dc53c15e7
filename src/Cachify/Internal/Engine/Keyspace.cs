using Microsoft.Extensions.Logging;

namespace CachifyNet.Internal;

/// <summary>
/// The entries of one function (one identity and key shape) on one backend, and the single-flight
/// machinery every backend shares: callers of one key join one execution; skip-cache callers queue
/// behind it; Invalidate and Clear doom executions that started before them; timeouts abandon
/// executions that hang. Backends implement the storage primitives and what the owner of an
/// execution does (<c>Produce</c>). Split by concern: this file (storage primitives, execution, key checks,
/// generations), <c>Keyspace.Sync.cs</c>, <c>Keyspace.Async.cs</c> and <c>Keyspace.Refresh.cs</c> (never-die).
/// </summary>
internal abstract partial class Keyspace<TKey, TValue> : IKeyspace
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

    /// <summary>
    /// What the miss path calls for <see cref="Produce"/> and <see cref="ProduceAsync"/>: made once per binding, so a miss
    /// makes a plain virtual call rather than a generic virtual one (a run-time lookup). A backend may return its own,
    /// calling its implementation directly; the default calls the abstract methods.
    /// </summary>
    internal virtual Producer<TArgs> CreateProducer<TArgs>() => new Producer<TArgs>(this);

    /// <summary>Runs the owner's work of one keyspace for one argument tuple type (see <see cref="CreateProducer"/>).</summary>
    internal class Producer<TArgs>(Keyspace<TKey, TValue> keyspace)
    {
        public virtual TValue Produce(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing)
            => keyspace.Produce(in key, in args, binding, flight, skipCache, refreshing);

        public virtual Task<TValue> ProduceAsync(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing)
            => keyspace.ProduceAsync(key, args, binding, flight, skipCache, refreshing);
    }

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
    protected static Task<TValue> ExecuteAsync<TArgs>(Binding<TKey, TArgs, TValue> binding, TArgs args, Flight<TValue> flight)
    {
        var activity = Telemetry.StartExecution(binding.Tags, out var started);
        Task<TValue> task;
        try
        {
            task = binding.Invoker.InvokeAsync(in args, flight.Token);
            if (task.IsCompletedSuccessfully)
            {
                // Completed already (a cached or synchronous source): its own task, with no state machine or task of ours.
                Telemetry.Executed(binding.Tags, activity, started, error: null);
                return task;
            }
        }
        catch (Exception error)
        {
            // Thrown before returning a task (or a null task): a faulted task, as an async method would give.
            Telemetry.Executed(binding.Tags, activity, started, error);
            return Task.FromException<TValue>(error);
        }

        return AwaitExecution(task, binding.Tags, activity, started);
    }

    private static async Task<TValue> AwaitExecution(Task<TValue> task, Telemetry.Tags tags, System.Diagnostics.Activity? activity, long started)
    {
        try
        {
            var value = await task.ConfigureAwait(false);
            Telemetry.Executed(tags, activity, started, error: null);
            return value;
        }
        catch (Exception error)
        {
            Telemetry.Executed(tags, activity, started, error);
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
}
