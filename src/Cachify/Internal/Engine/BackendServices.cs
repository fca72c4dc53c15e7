using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CachifyNet.Internal;

/// <summary>What every backend owns: its clock, its scheduler, its logger and its keyspaces.</summary>
internal sealed class BackendServices : IDisposable
{
    private readonly ConcurrentDictionary<object, Registered> _keyspaces = new();

    private readonly CancellationTokenSource _stopping = new();
    private readonly object _workLock = new();
    private int _backgroundWork;
    private TaskCompletionSource? _idle;

    private readonly string _ownerName;
    private volatile bool _disposed;

    public BackendServices(string ownerName, string kind, TimeProvider? time, ILoggerFactory? loggerFactory)
    {
        _ownerName = ownerName;
        Kind = kind;
        Time = time ?? TimeProvider.System;
        Logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Cachify");
        Scheduler = new Scheduler(Time, Logger);
        Telemetry.Track(this);
    }

    public TimeProvider Time { get; }

    /// <summary>The backend's short name in metrics ("memory", "redis").</summary>
    public string Kind { get; }

    /// <summary>The callers waiting for other processes' locks (the <c>cachify.lock.waiter.count</c> gauge); null for a backend without a lock across processes.</summary>
    public Stores.WaiterRegistry? Waiters { get; set; }

    public ILogger Logger { get; }

    public Scheduler Scheduler { get; }

    /// <summary>Cancelled when the backend is disposed.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>
    /// Set as <see cref="Dispose"/> begins, before <see cref="Stopping"/> is cancelled. Wrappers read it at each call (their
    /// binding is made again once it is set), so it is one field read rather than a look into the token source.
    /// </summary>
    public bool IsDisposed => _disposed;

    public long Now => Time.GetTimestamp();

    /// <summary>Converts a duration to clock ticks exactly; <see cref="Timeout.InfiniteTimeSpan"/> becomes <see cref="long.MaxValue"/>.</summary>
    public long ToTicks(TimeSpan span)
    {
        if (span == Timeout.InfiniteTimeSpan)
        {
            return long.MaxValue;
        }

        var frequency = Time.TimestampFrequency;
        return frequency == TimeSpan.TicksPerSecond ? span.Ticks : (long)((Int128)span.Ticks * frequency / TimeSpan.TicksPerSecond);
    }

    /// <summary>Converts clock ticks to a duration.</summary>
    public TimeSpan ToTimeSpan(long ticks)
    {
        var frequency = Time.TimestampFrequency;
        return TimeSpan.FromTicks(frequency == TimeSpan.TicksPerSecond ? ticks : (long)((Int128)ticks * TimeSpan.TicksPerSecond / frequency));
    }

    /// <summary>Every keyspace of this backend.</summary>
    public IEnumerable<IKeyspace> Keyspaces
    {
        get
        {
            foreach (var registered in _keyspaces.Values)
            {
                yield return registered.Keyspace;
            }
        }
    }

    /// <summary>Every keyspace of this backend with the name of its function (the <c>cachify.function</c> tag).</summary>
    public IEnumerable<(IKeyspace Keyspace, string Function)> NamedKeyspaces
    {
        get
        {
            foreach (var registered in _keyspaces.Values)
            {
                yield return (registered.Keyspace, registered.Function);
            }
        }
    }

    /// <summary>Keys in use in the lock tables of every keyspace (the <c>cachify.lock.count</c> gauge).</summary>
    public long LockCount
    {
        get
        {
            long count = 0;
            foreach (var registered in _keyspaces.Values)
            {
                count += registered.Keyspace.LockCount;
            }

            return count;
        }
    }

    /// <summary>
    /// True for backends that write every key as text themselves (Redis): they take typed keys even for arguments
    /// keyed by content. False for backends that compare keys as values (memory).
    /// </summary>
    public bool WritesKeysAsText { get; init; }

    /// <summary>The keyspace registered under <paramref name="id"/>, created on first use.</summary>
    public Keyspace<TKey, TValue> GetKeyspace<TKey, TValue>(object id, string displayName, Func<Keyspace<TKey, TValue>> create)
        where TKey : struct, IArgsKey<TKey>
    {
        ThrowIfDisposed();
        var registered = _keyspaces.GetOrAdd(id, static (_, state) => new Registered(state.create(), state.displayName), (create, displayName));
        return registered.Keyspace as Keyspace<TKey, TValue> ?? throw new ArgumentException(
            $"The name \"{displayName}\" is already used by another function whose arguments or result differ. Give each function its own name.");
    }

    /// <summary>Counts a background refresh as started (see <see cref="WhenIdle"/>).</summary>
    public void BeginWork()
    {
        lock (_workLock)
        {
            _backgroundWork++;
        }
    }

    /// <summary>Counts a background refresh as ended.</summary>
    public void EndWork()
    {
        lock (_workLock)
        {
            if (--_backgroundWork == 0 && _idle is not null)
            {
                _idle.TrySetResult();
                _idle = null;
            }
        }
    }

    /// <summary>Completes when no background refresh is running (tests wait on it instead of sleeping).</summary>
    public Task WhenIdle()
    {
        lock (_workLock)
        {
            return _backgroundWork == 0 ? Task.CompletedTask : (_idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    public void ThrowIfDisposed()
    {
        if (IsDisposed)
        {
            throw DisposedError();
        }
    }

    public ObjectDisposedException DisposedError() => new(_ownerName, $"The {_ownerName} of this cached function was disposed. Create the wrapper with a live backend.");

    public void Dispose()
    {
        if (IsDisposed)
        {
            return;
        }

        _disposed = true;
        Telemetry.Untrack(this);
        try
        {
            _stopping.Cancel();
        }
        catch (AggregateException error)
        {
            // A callback on a refresh's token threw: the rest of the teardown still happens.
            Log.CancellationCallbackFailed(Logger, error);
        }
        finally
        {
            Scheduler.Dispose();
            foreach (var keyspace in Keyspaces)
            {
                keyspace.OnBackendDisposed();
            }
        }
    }

    /// <summary>A keyspace and the name of the function that created it.</summary>
    private sealed record Registered(IKeyspace Keyspace, string Function);
}
