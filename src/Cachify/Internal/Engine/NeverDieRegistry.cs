using System.Collections.Concurrent;

namespace CachifyNet.Internal;

/// <summary>
/// This process's registrations to refresh never-die entries that live outside it (Redis, a store): one small record per
/// key it wrote or read, in the backend's scheduler. A registration goes on Invalidate or Clear, when its entry is gone,
/// or when nobody here read it for the wrapper's idle limit. Shared by the keyspaces of the out-of-process backends.
/// </summary>
internal sealed class NeverDieRegistry<TKey, TValue>(BackendServices services)
    where TKey : struct, IArgsKey<TKey>
{
    private readonly ConcurrentDictionary<TKey, NeverDieRegistration<TKey, TValue>> _items = new();
    private readonly object _lock = new();

    /// <summary>Registrations (tests).</summary>
    public int Count => _items.Count;

    public bool Contains(in TKey key) => _items.ContainsKey(key);

    /// <summary>A reader served the key's value: the registration counts it as read (for the idle limit).</summary>
    public void Touch(in TKey key)
    {
        if (_items.TryGetValue(key, out var item) && !item.Touched)
        {
            item.Touched = true;
        }
    }

    /// <summary>
    /// Registers <paramref name="key"/> to be refreshed with <paramref name="state"/>, due at <paramref name="due"/>. An
    /// existing registration is kept (<paramref name="replace"/> false), or rescheduled when it has the same binding, or
    /// replaced. <paramref name="mayRegister"/> is checked under the lock that <c>Drop</c> and <see cref="ForgetAll"/>
    /// take, so a registration never outlives an Invalidate or Clear that dropped registrations after dooming its execution.
    /// </summary>
    public void Register(in TKey key, NeverDieState<TKey, TValue> state, long due, bool replace, Func<bool>? mayRegister = null)
    {
        if (services.IsDisposed)
        {
            return;
        }

        lock (_lock)
        {
            if (mayRegister is not null && !mayRegister())
            {
                return;
            }

            if (_items.TryGetValue(key, out var existing))
            {
                if (!replace)
                {
                    return;
                }

                if (ReferenceEquals(existing.State.Binding, state.Binding))
                {
                    existing.State.Failures = 0;
                    services.Scheduler.Schedule(existing, due);
                    return;
                }

                Remove(existing);
            }

            state.LastRead = services.Now;
            var item = new NeverDieRegistration<TKey, TValue>(this, in key, state);
            _items[key] = item;
            services.Scheduler.Schedule(item, due);
        }
    }

    /// <summary>Drops the registration of <paramref name="key"/>, if any.</summary>
    public void Drop(in TKey key)
    {
        lock (_lock)
        {
            if (_items.TryGetValue(key, out var item))
            {
                Remove(item);
            }
        }
    }

    /// <summary>Drops every registration.</summary>
    public void ForgetAll()
    {
        lock (_lock)
        {
            foreach (var pair in _items)
            {
                Remove(pair.Value);
            }
        }
    }

    /// <summary>Drops <paramref name="item"/> (its entry is gone).</summary>
    public void Drop(NeverDieRegistration<TKey, TValue> item)
    {
        lock (_lock)
        {
            Remove(item);
        }
    }

    /// <summary>Whether <paramref name="item"/> is still the live registration of <paramref name="key"/>.</summary>
    public bool IsCurrent(in TKey key, ScheduledItem item)
        => !item.IsDead && _items.TryGetValue(key, out var current) && ReferenceEquals(current, item);

    /// <summary>The scheduler's callback (must be quick): stop if idle, else start the refresh on the thread pool.</summary>
    internal void OnDue(NeverDieRegistration<TKey, TValue> item)
    {
        if (item.Dead || services.IsDisposed)
        {
            return;
        }

        var state = item.State;
        var now = services.Now;
        if (item.Touched)
        {
            item.Touched = false;
            state.LastRead = now;
        }

        if (now - state.LastRead >= state.Binding.IdleTicks)
        {
            // Nobody here read it for the idle limit: stop refreshing. The entry stays for other processes and expires by itself.
            Drop(item);
            return;
        }

        state.StartRefresh(item.Key, item);
    }

    private void Remove(NeverDieRegistration<TKey, TValue> item)
    {
        item.Dead = true;
        _items.TryRemove(new KeyValuePair<TKey, NeverDieRegistration<TKey, TValue>>(item.Key, item));
        services.Scheduler.Unschedule(item);
    }
}

/// <summary>One registration of a <see cref="NeverDieRegistry{TKey, TValue}"/>: the key, and what its refresh runs.</summary>
internal sealed class NeverDieRegistration<TKey, TValue>(NeverDieRegistry<TKey, TValue> registry, in TKey key, NeverDieState<TKey, TValue> state) : ScheduledItem
    where TKey : struct, IArgsKey<TKey>
{
    public readonly TKey Key = key;
    public readonly NeverDieState<TKey, TValue> State = state;

    /// <summary>Set by readers; the registry turns it into <see cref="NeverDieState{TKey, TValue}.LastRead"/> when due.</summary>
    public bool Touched;

    /// <summary>Set when the registration is dropped; the scheduler then ignores it.</summary>
    public volatile bool Dead;

    internal override bool IsDead => Dead;

    internal override void OnDue() => registry.OnDue(this);
}
