namespace CachifyNet.Internal.Stores;

/// <summary>
/// Keeps an owner's store lock alive while its function runs: every third of the lease, extends it to a full lease if
/// the owner still holds it, so a function slower than the lease keeps its lock. Runs on a timer in real time (stores
/// expire locks in real time), with the asynchronous member, whether the function is synchronous or not: it is
/// background work, not the caller's path. It stops at its first tick after the backend is disposed (an execution
/// still running then stores nothing), so the lock expires by itself.
/// </summary>
internal sealed class StoreLockRenewal : IDisposable
{
    private readonly StoreContext _store;
    private readonly string _key;
    private readonly string _owner;
    private readonly Telemetry.Tags _tags;
    private readonly string _function;
    private readonly Timer _timer;
    private int _busy;

    public StoreLockRenewal(StoreContext store, string key, string owner, Telemetry.Tags tags, string function)
    {
        _store = store;
        _key = key;
        _owner = owner;
        _tags = tags;
        _function = function;
        var period = store.LockTimeout / 3;
        _timer = new Timer(static state => ((StoreLockRenewal)state!).Tick(), this, period, period);
    }

    private void Tick()
    {
        if (_store.Services.IsDisposed)
        {
            _timer.Dispose();
            return;
        }

        if (Interlocked.Exchange(ref _busy, 1) == 0)
        {
            _ = RenewAsync();
        }
    }

    private async Task RenewAsync()
    {
        try
        {
            // False: the lock is gone (Invalidate, or expired); the final commit sees it and stores nothing.
            if (await _store.Lock!.RenewAsync(_key, _owner, _store.LockTimeout, CancellationToken.None).ConfigureAwait(false))
            {
                _store.CountRenewal();
            }
        }
        catch (Exception error)
        {
            // The next tick tries again; if the lock expires meanwhile, the final commit stores nothing.
            Telemetry.BackendError(_tags, "renew");
            _store.BackgroundFailed(_function, "renew", error);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    public void Dispose() => _timer.Dispose();
}
