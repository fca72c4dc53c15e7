using CachifyNet.Redis.Internal;
using CachifyNet.Stores;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace CachifyNet.Redis;

/// <summary>
/// A <see cref="CacheBackplane"/> over Redis pub/sub: carries the change notices of the processes that share a
/// distributed store on one channel (<see cref="RedisBackplaneOptions.Channel"/>), so that each process can drop the
/// local copies another one made stale. Works on a single Redis server, on Redis Cluster and on Garnet.
/// </summary>
/// <remarks>
/// <para>
/// <b>Delivery.</b> Every subscriber gets every notice published on the channel, by any process, this one included,
/// in the order each publisher published them (the backplane reads the channel as one ordered queue and calls
/// subscribers one at a time). A subscriber that throws is logged and skipped; the others still get the notice.
/// </para>
/// <para>
/// <b>Loss detection.</b> Redis pub/sub delivers at most once: a notice published while a subscription is down is gone.
/// The backplane therefore calls <see cref="ICacheBackplaneSubscriber.OnConnectionLost"/> as soon as notices may have
/// been lost: at once when StackExchange.Redis reports that a subscription connection failed (a killed connection, a
/// restarted server), and within about a second of a silent failure, found by its own heartbeat: it publishes one every
/// 250 milliseconds on the same channel and reports the connection lost when none has come back for 1 second (or when
/// one published after another never came). It calls <see cref="ICacheBackplaneSubscriber.OnConnectionRestored"/> once a
/// heartbeat published after the loss comes back, which proves that the channel is subscribed again (StackExchange.Redis
/// resubscribes by itself when it reconnects): every notice published from then on is delivered. A subscriber never
/// gets <c>OnConnectionRestored</c> without an <c>OnConnectionLost</c> before it. Until the first heartbeat of a new
/// backplane has come back the channel is not proven either, so a subscriber that subscribes then (or while the
/// connection is lost) gets <c>OnConnectionLost</c> at once, during <see cref="Subscribe"/>.
/// </para>
/// <para>
/// Heartbeats are 33-byte messages that subscribers never see; with <c>n</c> processes on one channel, Redis delivers
/// <c>4 n²</c> of them a second (400 a second for 10 processes). The backplane does not own the connection: dispose the
/// multiplexer yourself, after the backplane.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var redis = ConnectionMultiplexer.Connect("localhost");
/// var backend = new CacheStoreBackend(store, new CacheStoreBackendOptions { Backplane = new RedisBackplane(redis) });
/// </code>
/// </example>
public sealed class RedisBackplane : CacheBackplane, IDisposable
{
    /// <summary>How often the backplane publishes its heartbeat.</summary>
    internal static readonly TimeSpan HeartbeatInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>How long without an own heartbeat coming back before the connection counts as lost.</summary>
    internal static readonly TimeSpan SilenceLimit = TimeSpan.FromSeconds(1);

    private readonly IConnectionMultiplexer _connection;
    private readonly ISubscriber _subscriber;
    private readonly IDatabase _database;
    private readonly RedisChannel _channel;
    private readonly string _channelName;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Guid _id = Guid.NewGuid();
    private readonly EventHandler<ConnectionFailedEventArgs> _onFailed;
    private readonly EventHandler<ConnectionFailedEventArgs> _onRestored;
    private readonly ChannelMessageQueue _queue;
    private readonly ITimer _timer;

    /// <summary>Serializes every call to subscribers and every change of the state below.</summary>
    private readonly Lock _gate = new();
    private Subscription[] _subscriptions = [];
    private bool _connected;
    private bool _everConnected;
    private bool _disposed;

    /// <summary>Only an own heartbeat with a higher number proves that notices flow again (the highest number assigned at the loss).</summary>
    private long _restoreAfter;

    /// <summary>The number of the last own heartbeat received, and when it was received.</summary>
    private long _lastHeard;
    private long _heardAt;

    /// <summary>The last heartbeat number assigned, and the last one Redis acknowledged (one heartbeat is in flight at a time).</summary>
    private long _assigned;
    private long _acked;
    private int _sending;
    private long _otherHeartbeats;

    /// <summary>Subscribes to the channel and starts the heartbeat.</summary>
    /// <param name="connection">The multiplexer; the backplane does not dispose it.</param>
    /// <param name="options">Channel, clock and logging; null for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is invalid (the message names it and the fix).</exception>
    public RedisBackplane(IConnectionMultiplexer connection, RedisBackplaneOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= new RedisBackplaneOptions();
        Validate(options);
        _connection = connection;
        _subscriber = connection.GetSubscriber();
        _database = connection.GetDatabase();
        _channelName = options.Channel;
        // Key routing: on a Redis Cluster every process subscribes and publishes on the primary that owns the channel name's
        // hash slot, so one publisher's notices always take one path (a literal channel is routed to any node, and notices
        // published through two nodes can overtake each other on the cluster bus). Elsewhere it changes nothing.
        _channel = RedisChannel.Literal(options.Channel).WithKeyRouting();
        _time = options.TimeProvider;
        _logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Cachify");
        _onFailed = OnConnectionFailed;
        _onRestored = OnConnectionRestored;
        connection.ConnectionFailed += _onFailed;
        connection.ConnectionRestored += _onRestored;

        // The queue is registered before SUBSCRIBE is sent, and stays registered (StackExchange.Redis subscribes it again
        // on every reconnect) whether or not this first SUBSCRIBE reaches Redis: fire and forget, never blocking here.
        // Its loop hands messages over one at a time, in the order they arrived (Action-based subscriptions do not).
        _queue = _subscriber.Subscribe(_channel, CommandFlags.FireAndForget);
        _queue.OnMessage(OnMessage);
        _timer = _time.CreateTimer(static state => ((RedisBackplane)state!).Tick(), this, HeartbeatInterval, HeartbeatInterval);
        _ = FirstHeartbeatAsync();
    }

    /// <summary>Whether notices are known to flow: an own heartbeat came back since the last loss (tests and diagnostics).</summary>
    internal bool IsConnected
    {
        get
        {
            lock (_gate)
            {
                return _connected;
            }
        }
    }

    /// <summary>This backplane's id, in its heartbeats.</summary>
    internal Guid Id => _id;

    /// <summary>Heartbeats numbered so far (each was published, or tried).</summary>
    internal long HeartbeatsSent => Interlocked.Read(ref _assigned);

    /// <summary>The number of the last own heartbeat that came back.</summary>
    internal long LastHeard
    {
        get
        {
            lock (_gate)
            {
                return _lastHeard;
            }
        }
    }

    /// <summary>Heartbeats of other backplanes received on the channel (and not delivered).</summary>
    internal long OtherHeartbeats => Interlocked.Read(ref _otherHeartbeats);

    /// <inheritdoc/>
    /// <exception cref="RedisException">Redis is not connected, or the PUBLISH failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The backplane was disposed.</exception>
    public override void Publish(ReadOnlyMemory<byte> notice)
    {
        var frame = NoticeFrame(notice);
        _subscriber.Publish(_channel, frame);
    }

    /// <inheritdoc/>
    /// <exception cref="RedisException">Redis is not connected, or the PUBLISH failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The backplane was disposed.</exception>
    public override ValueTask PublishAsync(ReadOnlyMemory<byte> notice, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        Task task;
        try
        {
            task = _subscriber.PublishAsync(_channel, NoticeFrame(notice));
        }
        catch (Exception error) when (error is RedisException or ObjectDisposedException)
        {
            return ValueTask.FromException(error);
        }

        return task.IsCompletedSuccessfully ? default : new ValueTask(cancellationToken.CanBeCanceled ? task.WaitAsync(cancellationToken) : task);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Calls to one subscriber never overlap, and come in this order: notices in their publishers' order, and
    /// <see cref="ICacheBackplaneSubscriber.OnConnectionLost"/> and <see cref="ICacheBackplaneSubscriber.OnConnectionRestored"/>
    /// alternating, starting with a loss. When the channel is not proven yet (the backplane is new, or the connection
    /// is lost), <see cref="ICacheBackplaneSubscriber.OnConnectionLost"/> is called before this method returns. Disposing the
    /// returned subscription waits for a call in progress to end (unless it is disposed from that call) and stops the calls.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="subscriber"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The backplane was disposed.</exception>
    public override IDisposable Subscribe(ICacheBackplaneSubscriber subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        var subscription = new Subscription(this, subscriber);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _subscriptions = [.. _subscriptions, subscription];
            if (!_connected)
            {
                subscription.LostDelivered = true;
                Call(subscription, Callback.Lost, default);
            }
        }

        return subscription;
    }

    /// <summary>
    /// Unsubscribes from the channel and stops the heartbeat, for good: subscribers get nothing more (a call in progress
    /// ends first, unless <see cref="Dispose"/> is called from it), and publishing throws <see cref="ObjectDisposedException"/>.
    /// Calling it again does nothing.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _subscriptions = [];
        }

        _timer.Dispose();
        _connection.ConnectionFailed -= _onFailed;
        _connection.ConnectionRestored -= _onRestored;
        try
        {
            _queue.Unsubscribe(CommandFlags.FireAndForget);
        }
        catch (Exception error) when (error is RedisException or ObjectDisposedException)
        {
            // Redis or the multiplexer is gone; the subscription ends with the connection, and nothing is delivered here.
            RedisLog.BackplaneHeartbeatFailed(_logger, _channelName, error);
        }
    }

    /// <summary>Checks the options; the message names the option and the fix.</summary>
    internal static void Validate(RedisBackplaneOptions options)
    {
        var channel = options.Channel;
        if (string.IsNullOrEmpty(channel))
        {
            throw new ArgumentException("RedisBackplaneOptions.Channel is empty. Set it to the channel every process of the application shares (the default is \"cachify:backplane\").", nameof(options));
        }

        foreach (var c in channel)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                throw new ArgumentException($"RedisBackplaneOptions.Channel \"{channel}\" contains white space or a control character (U+{(int)c:X4}). Use letters, digits and punctuation, such as \"myapp:backplane\".", nameof(options));
            }
        }
    }

    private byte[] NoticeFrame(ReadOnlyMemory<byte> notice)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);

        // Fail fast, as the backend does: a write must not wait in the multiplexer's backlog for the client timeout.
        if (!_database.IsConnected(default))
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "Redis is not connected (the multiplexer reports no connection to publish the backplane notice on).", null, CommandStatus.Unknown);
        }

        return BackplaneFrame.Notice(notice.Span);
    }

    private void OnMessage(ChannelMessage message)
    {
        ReadOnlyMemory<byte> bytes = message.Message;
        var frame = bytes.Span;
        switch (BackplaneFrame.Read(frame, out var sender, out var number, out var acked))
        {
            case BackplaneFrame.Kind.Notice:
                Deliver(BackplaneFrame.NoticeBody(frame));
                break;
            case BackplaneFrame.Kind.Heartbeat when sender == _id:
                Heard(number, acked);
                break;
            case BackplaneFrame.Kind.Heartbeat:
                Interlocked.Increment(ref _otherHeartbeats); // another backplane's
                break;
            default:
                RedisLog.BackplaneUnreadableMessage(_logger, _channelName, frame.Length);
                break;
        }
    }

    private void Deliver(ReadOnlySpan<byte> notice)
    {
        lock (_gate)
        {
            foreach (var subscription in _subscriptions)
            {
                if (subscription.Active)
                {
                    Call(subscription, Callback.Notice, notice);
                }
            }
        }
    }

    /// <summary>An own heartbeat came back.</summary>
    /// <param name="number">Its number.</param>
    /// <param name="acked">The last heartbeat Redis had acknowledged when it was sent: had it not come back, it was lost.</param>
    private void Heard(long number, long acked)
    {
        lock (_gate)
        {
            if (_disposed || number <= _lastHeard)
            {
                return; // a duplicate (a publish that timed out here went through after all) or one overtaken
            }

            var gap = acked > _lastHeard;
            _lastHeard = number;
            _heardAt = _time.GetTimestamp();
            if (_connected)
            {
                if (gap)
                {
                    LoseLocked("an own heartbeat acknowledged by Redis never came back");
                }
            }
            else if (number > _restoreAfter)
            {
                RestoreLocked();
            }
        }
    }

    private void Tick()
    {
        try
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                if (_connected && _time.GetElapsedTime(_heardAt) >= SilenceLimit)
                {
                    LoseLocked("no own heartbeat came back for 1 second");
                }
            }

            SendHeartbeat();
        }
        catch (Exception error)
        {
            // A timer callback must not throw (it would end the process): the multiplexer may be disposed before the backplane.
            RedisLog.BackplaneHeartbeatFailed(_logger, _channelName, error);
        }
    }

    /// <summary>The first heartbeat, as soon as the subscription is in place (a PING on the subscription connection follows the SUBSCRIBE).</summary>
    private async Task FirstHeartbeatAsync()
    {
        try
        {
            await _subscriber.PingAsync().ConfigureAwait(false);
            SendHeartbeat();
        }
        catch (Exception error) when (error is RedisException or ObjectDisposedException)
        {
            // Redis is away (the timer's heartbeats prove the subscription once it is back), or the multiplexer is gone.
        }
    }

    private void SendHeartbeat()
    {
        if (Volatile.Read(ref _disposed) || !_subscriber.IsConnected(_channel) || Interlocked.Exchange(ref _sending, 1) == 1)
        {
            return; // disconnected (the command would wait in the backlog), or one in flight already
        }

        var number = Interlocked.Increment(ref _assigned);
        _ = SendHeartbeatAsync(number, BackplaneFrame.Heartbeat(_id, number, Volatile.Read(ref _acked)));
    }

    private async Task SendHeartbeatAsync(long number, byte[] frame)
    {
        try
        {
            await _subscriber.PublishAsync(_channel, frame).ConfigureAwait(false);
            Volatile.Write(ref _acked, number);
        }
        catch (Exception error) when (error is RedisException or ObjectDisposedException)
        {
            RedisLog.BackplaneHeartbeatFailed(_logger, _channelName, error);
        }
        finally
        {
            Volatile.Write(ref _sending, 0);
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs args)
    {
        // With RESP3 the subscriptions travel on the interactive connection.
        if (args.ConnectionType == ConnectionType.Subscription || (args.ConnectionType == ConnectionType.Interactive && IsResp3(args.EndPoint)))
        {
            Lose($"the {args.ConnectionType} connection to {args.EndPoint} failed ({args.FailureType})");
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs args)
    {
        if (args.ConnectionType == ConnectionType.Subscription || IsResp3(args.EndPoint))
        {
            SendHeartbeat(); // StackExchange.Redis resubscribes; the next heartbeat that comes back proves it
        }
    }

    private bool IsResp3(System.Net.EndPoint? endPoint)
    {
        try
        {
            return endPoint is not null && _connection.GetServer(endPoint).Protocol == RedisProtocol.Resp3;
        }
        catch (Exception error) when (error is RedisException or ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    private void Lose(string reason)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                LoseLocked(reason);
            }
        }
    }

    private void LoseLocked(string reason)
    {
        // A heartbeat already numbered may have been published before the loss: only a later one proves the recovery.
        _restoreAfter = Interlocked.Read(ref _assigned);
        if (!_connected)
        {
            return;
        }

        _connected = false;
        RedisLog.BackplaneConnectionLost(_logger, _channelName, reason);
        foreach (var subscription in _subscriptions)
        {
            if (subscription.Active && !subscription.LostDelivered)
            {
                subscription.LostDelivered = true;
                Call(subscription, Callback.Lost, default);
            }
        }
    }

    private void RestoreLocked()
    {
        _connected = true;
        if (_everConnected)
        {
            RedisLog.BackplaneConnectionRestored(_logger, _channelName);
        }

        _everConnected = true;
        foreach (var subscription in _subscriptions)
        {
            if (subscription.Active && subscription.LostDelivered)
            {
                subscription.LostDelivered = false;
                Call(subscription, Callback.Restored, default);
            }
        }
    }

    private void Call(Subscription subscription, Callback callback, ReadOnlySpan<byte> notice)
    {
        try
        {
            switch (callback)
            {
                case Callback.Lost:
                    subscription.Target.OnConnectionLost();
                    break;
                case Callback.Restored:
                    subscription.Target.OnConnectionRestored();
                    break;
                default:
                    subscription.Target.OnNotice(notice);
                    break;
            }
        }
        catch (Exception error)
        {
            RedisLog.BackplaneSubscriberFailed(_logger, _channelName, callback switch
            {
                Callback.Lost => nameof(ICacheBackplaneSubscriber.OnConnectionLost),
                Callback.Restored => nameof(ICacheBackplaneSubscriber.OnConnectionRestored),
                _ => nameof(ICacheBackplaneSubscriber.OnNotice),
            }, error);
        }
    }

    private void Unsubscribe(Subscription subscription)
    {
        lock (_gate)
        {
            subscription.Active = false;
            _subscriptions = Array.FindAll(_subscriptions, s => !ReferenceEquals(s, subscription));
        }
    }

    private enum Callback
    {
        Notice,
        Lost,
        Restored,
    }

    /// <summary>One subscriber's registration; its state is guarded by the backplane's gate.</summary>
    private sealed class Subscription(RedisBackplane owner, ICacheBackplaneSubscriber target) : IDisposable
    {
        public ICacheBackplaneSubscriber Target { get; } = target;

        public bool Active { get; set; } = true;

        /// <summary>Whether the subscriber was told the connection was lost and not yet that it was restored.</summary>
        public bool LostDelivered { get; set; }

        public void Dispose() => owner.Unsubscribe(this);
    }
}
