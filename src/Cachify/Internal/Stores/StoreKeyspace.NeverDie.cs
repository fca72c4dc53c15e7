namespace CachifyNet.Internal.Stores;

/// <summary>
/// Never-die entries of a store: each process that wrote or read one registers it and refreshes it when due, after
/// checking the store (an entry gone is dropped, one refreshed by another process is due again at its TTL); failures
/// keep the last good value and back off.
/// </summary>
internal sealed partial class StoreKeyspace<TKey, TValue>
{
    /// <summary>A never-die reader found a usable value: refresh it when it reaches its TTL (at once if it already has).</summary>
    private void RegisterRead<TArgs>(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, long ageMs, Flight<TValue> flight, int generation)
    {
        if (_neverDie.Contains(in key))
        {
            return;
        }

        var age = Services.ToTicks(TimeSpan.FromMilliseconds(ageMs));
        _neverDie.Register(in key, new NeverDieState<TKey, TArgs, TValue>(binding, args), Services.Now + Math.Max(0, binding.TtlTicks - age), replace: false, () => MayStore(flight, generation));
    }

    /// <summary>
    /// A never-die wrapper stored a value: refresh it one TTL from now, with this wrapper's arguments, unless Invalidate or
    /// Clear doomed the execution meanwhile (checked under the registry's lock, which they drop registrations under).
    /// </summary>
    private void RegisterWrite<TArgs>(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, int generation)
        => _neverDie.Register(in key, new NeverDieState<TKey, TArgs, TValue>(binding, args), Services.Now + binding.TtlTicks, replace: true, () => MayStore(flight, generation));

    protected override bool IsCurrent(in TKey key, ScheduledItem item) => _neverDie.IsCurrent(in key, item);

    protected override bool ChecksBeforeRefresh => true;

    /// <summary>
    /// Before a refresh: an entry gone from the store (invalidated, cleared or evicted, here or in another process)
    /// drops its registration, so a refresh never writes back what was removed; one that another process refreshed
    /// (younger than its TTL) is due again when it reaches its TTL. A store failure goes on to the refresh, which
    /// reports it and backs off.
    /// </summary>
    protected override async ValueTask<bool> RefreshDueAsync(TKey key, Binding<TKey, TValue> binding, ScheduledItem item)
    {
        var registration = (NeverDieRegistration<TKey, TValue>)item;
        var valueKey = ValueKey(in key);
        var read = await Read<AsyncIo>(valueKey, binding, CancellationToken.None).ConfigureAwait(false);
        switch (read.Status)
        {
            case ReadStatus.Miss:
                _neverDie.Drop(registration);
                return false;
            default:
                return !RefreshedElsewhere(in key, valueKey, binding, registration, stamp: null, in read);
        }
    }

    /// <summary>Whether a never-die entry due for refresh was refreshed by another process (younger than its TTL): then it is due again when that value reaches its TTL.</summary>
    private bool RefreshedElsewhere(in TKey key, string valueKey, Binding<TKey, TValue> binding, NeverDieRegistration<TKey, TValue> refreshing, LocalLevel<TKey, TValue>.Stamp? stamp, in ReadOutcome read)
    {
        if (read.Status != ReadStatus.Hit || read.AgeMs >= StoreEnvelope.TtlMs(binding.Ttl))
        {
            return false;
        }

        refreshing.State.Failures = 0;
        Services.Scheduler.Schedule(refreshing, Services.Now + Math.Max(0, binding.TtlTicks - Services.ToTicks(TimeSpan.FromMilliseconds(read.AgeMs))));
        Keep(in key, valueKey, stamp, in read);
        return true;
    }

    /// <summary>A refresh failed (the function threw, or the store failed): keep the value, retry after TTL × 1.25ⁿ (at most 10 × TTL).</summary>
    protected override void OnRefreshFailed(ScheduledItem item, Exception error)
    {
        var registration = (NeverDieRegistration<TKey, TValue>)item;
        if (registration.IsDead)
        {
            return;
        }

        var state = registration.State;
        state.Failures++;
        var delay = state.RetryDelay();
        Log.RefreshFailed(Logger, state.Binding.Name, state.Failures, Math.Round(Services.ToTimeSpan(delay).TotalMilliseconds, 1), error);
        Services.Scheduler.Schedule(registration, Services.Now + delay);
    }
}
