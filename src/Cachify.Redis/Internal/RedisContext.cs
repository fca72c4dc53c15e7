using CachifyNet.Internal.Stores;
using CachifyNet.Internal;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// What every keyspace of one <see cref="RedisCacheBackend"/> shares: the connection, the options, the waiters
/// and the backend's one pub/sub subscription, and the rules for Redis errors.
/// </summary>
/// <remarks>
/// The subscription's state is also the context's life: <see cref="Dispose"/> moves it to a terminal state, from which
/// nothing subscribes again (a subscribe still in flight removes its own subscription when it completes), lock
/// renewals stop at their next tick, and waiting callers wake to find the backend disposed.
/// </remarks>
internal sealed class RedisContext : IDisposable
{
    private const int NotSubscribed = 0;
    private const int Subscribing = 1;
    private const int Subscribed = 2;
    private const int Disposed = 3;

    private readonly Action<RedisChannel, RedisValue> _onNotification;
    private readonly EventHandler<ConnectionFailedEventArgs> _onRestored;
    private int _subscription;
    private long _renewals;

    public RedisContext(IConnectionMultiplexer connection, RedisCacheOptions options, BackendServices services)
    {
        Connection = connection;
        Database = connection.GetDatabase();
        Services = services;
        Prefix = options.KeyPrefix;
        ChannelName = Prefix + ":notify";
        Channel = RedisChannel.Literal(ChannelName);
        LockTimeout = options.LockTimeout;
        LockMs = (long)Math.Ceiling(options.LockTimeout.TotalMilliseconds);
        LockWaitTimeout = options.LockWaitTimeout;
        MaxPoll = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(1).Ticks, options.LockTimeout.Ticks / 4));
        OnError = options.OnError;
        Serializer = options.Serializer;
        _onNotification = (_, message) => Waiters.Signal(message.ToString());
        _onRestored = (_, _) => Waiters.SignalAll();
        connection.ConnectionRestored += _onRestored;
        Slots = new ClusterSlots(connection);
        ErrorLog = new RedisErrorLog(services.Logger, services.Time);
    }

    /// <summary>Rate-limits the logs of Redis failures (one detailed line per outage, then summaries, then a recovery line).</summary>
    public RedisErrorLog ErrorLog { get; }

    /// <summary>A Redis call succeeded: ends an outage (one volatile read while Redis works).</summary>
    public void Succeeded() => ErrorLog.Succeeded();

    public IConnectionMultiplexer Connection { get; }

    public IDatabase Database { get; }

    public BackendServices Services { get; }

    public ILogger Logger => Services.Logger;

    public string Prefix { get; }

    /// <summary>The pub/sub channel on which owners announce that an entry somebody waits for was written or released.</summary>
    public string ChannelName { get; }

    public RedisChannel Channel { get; }

    public TimeSpan LockTimeout { get; }

    public long LockMs { get; }

    public TimeSpan LockWaitTimeout { get; }

    /// <summary>The longest pause between two checks of a lock held by another process.</summary>
    public TimeSpan MaxPoll { get; }

    public RedisErrorMode OnError { get; }

    public ICacheSerializer Serializer { get; }

    /// <summary>The local level (copies in this process's memory), or null when it is off. Set once by the backend.</summary>
    public LocalHub? Local { get; init; }

    public WaiterRegistry Waiters { get; } = new();

    /// <summary>Whether <see cref="Dispose"/> has run (for good).</summary>
    public bool IsDisposed => Volatile.Read(ref _subscription) == Disposed;

    /// <summary>Successful lock renewals so far (tests observe that a slow function keeps its lock).</summary>
    public long Renewals => Interlocked.Read(ref _renewals);

    public void CountRenewal() => Interlocked.Increment(ref _renewals);

    /// <summary>
    /// Fails at once when the multiplexer has no connection to the key's server, instead of letting the command wait
    /// in its backlog until it times out: a cache must not add seconds to a call while Redis is away. On a Redis Cluster
    /// the server checked is the primary that owns the key's hash slot (<see cref="ClusterSlots"/>).
    /// </summary>
    public void Ready(RedisKey key)
    {
        if (!Database.IsConnected(key))
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "Redis is not connected (the multiplexer reports no connection to the key's server).", null, CommandStatus.Unknown);
        }

        if (Slots.Unreachable(key) is { } reason)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"Redis Cluster: {reason}.", null, CommandStatus.Unknown);
        }
    }

    /// <summary>The hash slot owners, on a Redis Cluster.</summary>
    public ClusterSlots Slots { get; }

    /// <summary>Whether an exception caught around a Redis call is a backend failure (cancellation is the caller's).</summary>
    public static bool IsBackendError(Exception error) => error is not OperationCanceledException;

    /// <summary>
    /// A Redis call made for a caller failed: counts it, then returns the exception to throw (<see cref="RedisErrorMode.Throw"/>)
    /// or logs it and returns null, and the caller goes on without the cache (<see cref="RedisErrorMode.Silent"/>).
    /// </summary>
    public CachifyException? Failed(Telemetry.Tags tags, string function, string operation, Exception error)
    {
        Telemetry.BackendError(tags, operation);
        if (OnError == RedisErrorMode.Throw)
        {
            return new CachifyException($"Redis {operation} for {function} failed: {error.Message}", error);
        }

        if (ErrorLog.Failed(operation, function, error, removal: false))
        {
            RedisLog.OperationFailed(Logger, operation, function, error);
        }

        return null;
    }

    /// <summary>
    /// An Invalidate or Clear failed in Redis: counted, logged as an error, and returned to be thrown in either error
    /// mode. They are the caller's explicit order to stop serving values; returning normally would let the caller
    /// believe entries were removed that may be served until they expire.
    /// </summary>
    public CachifyException RemovalFailed(Telemetry.Tags tags, string function, string operation, Exception error)
    {
        Telemetry.BackendError(tags, operation);
        if (ErrorLog.Failed(operation, function, error, removal: true))
        {
            RedisLog.RemoveFailed(Logger, operation, function, error);
        }

        return new CachifyException($"Redis {operation} for {function} failed, so entries may still be served until they expire: {error.Message}", error);
    }

    /// <summary>A Redis call made in the background (lock renewal, release) failed: counted and logged, never thrown.</summary>
    public void BackgroundFailed(Telemetry.Tags tags, string function, string operation, Exception error)
    {
        Telemetry.BackendError(tags, operation);
        if (ErrorLog.Failed(operation, function, error, removal: false))
        {
            RedisLog.OperationFailed(Logger, operation, function, error);
        }
    }

    /// <summary>Subscribes to the notification channel once; a failure is logged and waiters poll instead.</summary>
    /// <exception cref="ObjectDisposedException">The backend was disposed.</exception>
    public async ValueTask EnsureSubscribed<TIo>()
        where TIo : struct, IRedisIo
    {
        if (!TryBeginSubscribe())
        {
            return;
        }

        try
        {
            var subscriber = SubscriberReady();
            await TIo.Subscribe(subscriber, Channel, _onNotification).ConfigureAwait(false);
            EndSubscribe(subscriber);
        }
        catch (Exception error) when (IsBackendError(error))
        {
            Interlocked.CompareExchange(ref _subscription, NotSubscribed, Subscribing);
            RedisLog.SubscribeFailed(Logger, ChannelName, error);
        }
    }

    /// <summary>True when this caller is to subscribe; false when subscribed or subscribing already.</summary>
    private bool TryBeginSubscribe()
    {
        var state = Interlocked.CompareExchange(ref _subscription, Subscribing, NotSubscribed);
        if (state == Disposed)
        {
            throw Services.DisposedError();
        }

        return state == NotSubscribed;
    }

    /// <summary>The subscribe completed: subscribed, unless the context was disposed meanwhile, which could not remove it.</summary>
    private void EndSubscribe(ISubscriber subscriber)
    {
        if (Interlocked.CompareExchange(ref _subscription, Subscribed, Subscribing) != Subscribing)
        {
            Unsubscribe(subscriber);
        }
    }

    private void Unsubscribe(ISubscriber subscriber)
    {
        try
        {
            subscriber.Unsubscribe(Channel, _onNotification, CommandFlags.FireAndForget);
        }
        catch (Exception error) when (IsBackendError(error))
        {
            RedisLog.SubscribeFailed(Logger, ChannelName, error);
        }
    }

    /// <summary>
    /// The subscriber, if the multiplexer can reach its server: a waiter must not sit in the multiplexer's backlog
    /// until the client timeout to subscribe (see <see cref="Ready"/>); it polls instead, and the next wait tries again.
    /// </summary>
    private ISubscriber SubscriberReady()
    {
        var subscriber = Connection.GetSubscriber();
        if (!subscriber.IsConnected(Channel))
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "Redis is not connected (the multiplexer reports no connection for the notification channel).", null, CommandStatus.Unknown);
        }

        return subscriber;
    }

    /// <summary>
    /// For good: removes the subscription (or leaves it to the subscribe in flight), stops listening for reconnects,
    /// and wakes every waiting caller, which then throws <see cref="ObjectDisposedException"/>. Lock renewals stop at
    /// their next tick (<see cref="LockRenewal"/>). Idempotent.
    /// </summary>
    public void Dispose()
    {
        var previous = Interlocked.Exchange(ref _subscription, Disposed);
        if (previous == Disposed)
        {
            return;
        }

        Connection.ConnectionRestored -= _onRestored;
        Slots.Dispose();
        if (previous == Subscribed)
        {
            Unsubscribe(Connection.GetSubscriber());
        }

        Waiters.SignalAll();
    }
}
