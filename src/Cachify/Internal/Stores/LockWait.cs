using System.Diagnostics;

namespace CachifyNet.Internal.Stores;

/// <summary>
/// A caller waiting for another process's execution of one key. It wakes when the owner's notification arrives
/// (through <see cref="WaiterRegistry"/>) or when its poll delay ends: the delay doubles from
/// <see cref="FirstPoll"/> up to a cap, and never passes the moment the lock would expire or the wait's deadline,
/// so a dead owner is taken over as soon as its lock expires, without busy polling.
/// </summary>
internal sealed class LockWait : IDisposable
{
    public static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(10);

    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly object _signalLock = new();
    private readonly WaiterRegistry _registry;
    private readonly TimeSpan _maxPoll;
    private readonly long _deadline;
    private TimeSpan _nextPoll = FirstPoll;

    public LockWait(WaiterRegistry registry, string key, TimeSpan maxPoll, TimeSpan timeout)
    {
        _registry = registry;
        Key = key;
        _maxPoll = maxPoll;
        _deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>The value key this caller waits for (the notification's message).</summary>
    public string Key { get; }

    public bool TimedOut => Stopwatch.GetTimestamp() >= _deadline;

    /// <summary>A notification (or a reconnect) arrived: wake the caller.</summary>
    public void Signal()
    {
        lock (_signalLock)
        {
            if (_signal.CurrentCount == 0)
            {
                _signal.Release();
            }
        }
    }

    /// <summary>Forgets past notifications; called before each check of the lock, so one that arrives after the check is kept.</summary>
    public void Reset()
    {
        while (_signal.Wait(0))
        {
        }
    }

    /// <summary>How long to wait now: the next back-off step, capped by the lock's remaining time and the deadline.</summary>
    public TimeSpan NextDelay(long lockRemainingMs)
    {
        var delay = _nextPoll;
        _nextPoll = TimeSpan.FromTicks(Math.Min(_nextPoll.Ticks * 2, _maxPoll.Ticks));
        if (lockRemainingMs >= 0)
        {
            // Wake just after the lock would expire, to take over a dead owner's key at once.
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks, TimeSpan.FromMilliseconds(lockRemainingMs + 1).Ticks));
        }

        var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), _deadline);
        return TimeSpan.FromTicks(Math.Max(0, Math.Min(delay.Ticks, left.Ticks)));
    }

    /// <summary>Consumes a pending signal without waiting (tests).</summary>
    public bool TryTake() => _signal.Wait(0);

    /// <summary>Blocks the calling thread until a notification or the delay ends.</summary>
    public void Wait(TimeSpan delay, CancellationToken cancellationToken) => _signal.Wait(delay, cancellationToken);

    /// <summary>Waits without blocking a thread until a notification or the delay ends.</summary>
    public Task WaitAsync(TimeSpan delay, CancellationToken cancellationToken) => _signal.WaitAsync(delay, cancellationToken);

    public void Dispose()
    {
        _registry.Remove(this);
        _signal.Dispose();
    }
}
