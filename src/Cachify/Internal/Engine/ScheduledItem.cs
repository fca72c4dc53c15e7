namespace CachifyNet.Internal;

/// <summary>Something the <see cref="Scheduler"/> calls back at a time: an entry to expire or refresh.</summary>
internal abstract class ScheduledItem
{
    /// <summary>When the item is due, in <see cref="TimeProvider.GetTimestamp"/> ticks. Guarded by the scheduler.</summary>
    internal long Due;

    /// <summary>Position in the scheduler's heap, or -1 when not scheduled. Guarded by the scheduler.</summary>
    internal int HeapIndex = -1;

    /// <summary>True once the item is gone for good; the scheduler then ignores it.</summary>
    internal abstract bool IsDead { get; }

    /// <summary>True for the backend's own upkeep (the memory sweep), which is not an entry: the scheduled-entries gauge leaves it out.</summary>
    internal virtual bool IsHousekeeping => false;

    /// <summary>Called on the scheduler's thread when the item is due. Must be quick: hand long work to the thread pool.</summary>
    internal abstract void OnDue();
}
