using CachifyNet.Stores;
using Microsoft.Extensions.Logging;

namespace CachifyNet.Internal.Stores;

/// <summary>
/// What every keyspace of one <see cref="CacheStoreBackend"/> shares: the store, the options, and the rules for the
/// store's failures (counted always; thrown in Throw mode; logged in Silent mode, one detailed line per
/// <see cref="Interval"/> while the store keeps failing, and one line when it works again).
/// </summary>
internal sealed class StoreContext(CacheStore store, CacheStoreBackendOptions options, BackendServices services, LocalHub? local)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    private readonly object _gate = new();
    private volatile bool _failing;
    private long _failures;
    private long _lastLogged = long.MinValue;

    public CacheStore Store { get; } = store;

    public string Prefix { get; } = options.KeyPrefix;

    public ICacheSerializer Serializer { get; } = options.Serializer;

    public CacheStoreErrorMode OnError { get; } = options.OnError;

    public BackendServices Services { get; } = services;

    /// <summary>The local level's hub (copies and notices), or null when there is neither a local level nor a backplane.</summary>
    public LocalHub? Local { get; } = local;

    /// <summary>Whether the local level keeps copies (the hub may exist only to send and receive notices).</summary>
    public bool Copies { get; } = local is not null && options.LocalCache.Enabled;

    public ILogger Logger => Services.Logger;

    /// <summary>The store's lock across processes, or null (processes do not coordinate).</summary>
    public CacheStoreLock? Lock { get; } = store.Lock;

    /// <summary>The lease of a lock (<see cref="CacheStoreBackendOptions.LockTimeout"/>).</summary>
    public TimeSpan LockTimeout { get; } = options.LockTimeout;

    /// <summary>How long a caller waits for another process's lock (<see cref="CacheStoreBackendOptions.LockWaitTimeout"/>).</summary>
    public TimeSpan LockWaitTimeout { get; } = WaitTimeout(options);

    /// <summary>The longest poll while waiting for a lock: a quarter of the lease, at most 1 s (a dead owner is taken over soon after its lock expires).</summary>
    public TimeSpan MaxPoll { get; } = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(1).Ticks, options.LockTimeout.Ticks / 4));

    /// <summary>Lock renewals that extended a lock so far (tests: a slow owner kept its lock).</summary>
    public long Renewals => Interlocked.Read(ref _renewals);

    private long _renewals;

    public void CountRenewal() => Interlocked.Increment(ref _renewals);

    /// <summary>The callers waiting for another process's lock; the backplane's notices wake them.</summary>
    public WaiterRegistry Waiters { get; } = local?.Waiters ?? new WaiterRegistry();

    /// <summary>The effective <see cref="CacheStoreBackendOptions.LockWaitTimeout"/>: twice the lease by default, at most 1 day.</summary>
    public static TimeSpan WaitTimeout(CacheStoreBackendOptions options)
        => options.LockWaitTimeout ?? TimeSpan.FromTicks(Math.Min(options.LockTimeout.Ticks * 2, TimeSpan.FromDays(1).Ticks));

    /// <summary>The reader's clock, in ms since the Unix epoch (entry ages are measured against it).</summary>
    public long NowMs => Services.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>A store call succeeded: ends an outage (one volatile read while the store works).</summary>
    public void Succeeded()
    {
        if (!_failing)
        {
            return;
        }

        long failures;
        lock (_gate)
        {
            if (!_failing)
            {
                return;
            }

            _failing = false;
            failures = _failures;
            _failures = 0;
            _lastLogged = long.MinValue;
        }

        StoreLog.Recovered(Logger, failures);
    }

    /// <summary>A store call on a caller's path failed: counted; returned to be thrown in Throw mode, else logged (rate-limited).</summary>
    public CachifyException? Failed(Telemetry.Tags tags, string function, string operation, Exception error)
    {
        Telemetry.BackendError(tags, operation);
        if (OnError == CacheStoreErrorMode.Throw)
        {
            return new CachifyException($"Store {operation} for {function} failed: {error.Message}", error);
        }

        BackgroundFailed(function, operation, error);
        return null;
    }

    /// <summary>A store call made in the background (a never-die extension, a cleanup) failed: logged (rate-limited), never thrown.</summary>
    public void BackgroundFailed(string function, string operation, Exception error)
    {
        bool log;
        lock (_gate)
        {
            _failing = true;
            _failures++;
            var now = Services.Now;
            log = _lastLogged == long.MinValue || now - _lastLogged >= Services.ToTicks(Interval);
            if (log)
            {
                _lastLogged = now;
            }
        }

        if (log)
        {
            StoreLog.OperationFailed(Logger, operation, function, Interval, error);
        }
    }

    /// <summary>
    /// An Invalidate or Clear failed: counted, logged as an error and returned to be thrown in either error mode. They
    /// are the caller's order to stop serving values; returning normally would let the caller believe they were removed.
    /// </summary>
    public CachifyException RemovalFailed(Telemetry.Tags tags, string function, string operation, Exception error)
    {
        Telemetry.BackendError(tags, operation);
        StoreLog.RemoveFailed(Logger, operation, function, error);
        return new CachifyException($"Store {operation} for {function} failed, so entries may still be served until they expire: {error.Message}", error);
    }

    /// <summary>Whether <paramref name="error"/> is the store's failure rather than the caller's cancellation.</summary>
    public static bool IsStoreError(Exception error, CancellationToken token) => error is not OperationCanceledException || !token.IsCancellationRequested;
}
