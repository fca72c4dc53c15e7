namespace CachifyNet.Internal.Stores;

/// <summary>
/// The callers of one backend that wait for other processes' locks, by value key. The backend's notifications (Redis
/// pub/sub, or a store backend's backplane) hand every changed key to <see cref="Signal"/>.
/// </summary>
internal sealed class WaiterRegistry
{
    private readonly Dictionary<string, List<LockWait>> _waiters = new(StringComparer.Ordinal);
    private long _notified;
    private int _count;

    /// <summary>Number of callers waiting (the cachify.lock.waiter.count gauge): 0 when nobody waits.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Waiters woken by a notification so far (tests: waits end by pub/sub, not by polling).</summary>
    public long Notified => Interlocked.Read(ref _notified);

    public LockWait Add(string key, TimeSpan maxPoll, TimeSpan timeout)
    {
        var wait = new LockWait(this, key, maxPoll, timeout);
        lock (_waiters)
        {
            if (!_waiters.TryGetValue(key, out var list))
            {
                _waiters[key] = list = new List<LockWait>(1);
            }

            list.Add(wait);
            _count++;
        }

        return wait;
    }

    public void Remove(LockWait wait)
    {
        lock (_waiters)
        {
            if (_waiters.TryGetValue(wait.Key, out var list) && list.Remove(wait))
            {
                _count--;
                if (list.Count == 0)
                {
                    _waiters.Remove(wait.Key);
                }
            }
        }
    }

    /// <summary>The entry <paramref name="key"/> was written, released or invalidated.</summary>
    public void Signal(string key)
    {
        lock (_waiters)
        {
            if (_waiters.TryGetValue(key, out var list))
            {
                foreach (var wait in list)
                {
                    wait.Signal();
                }

                _notified += list.Count;
            }
        }
    }

    /// <summary>Wakes every waiter (the connection was restored: notifications may have been lost).</summary>
    public void SignalAll()
    {
        lock (_waiters)
        {
            foreach (var list in _waiters.Values)
            {
                foreach (var wait in list)
                {
                    wait.Signal();
                }
            }
        }
    }
}
