namespace CachifyNet.Stores;

/// <summary>
/// The local level of a distributed backend: copies of the values it reads or writes, kept in this process's memory so
/// that a hit costs no round trip. A copy expires with its entry, and is dropped when a backplane says another process
/// changed or invalidated the entry.
/// </summary>
public sealed class LocalCacheOptions
{
    /// <summary>Gets whether the local level is used. When false, every read goes to the store.</summary>
    /// <value>The default is true.</value>
    public bool Enabled { get; init; } = true;

    /// <summary>Gets the most copies the local level holds, across every function of the backend; the oldest go first.</summary>
    /// <value>The default is 100,000. Must be positive.</value>
    public int SizeLimit { get; init; } = 100_000;

    /// <summary>
    /// Gets the longest a copy is served before the store is read again, however long its entry lives. It bounds how
    /// long a change made by another process may go unseen here when no backplane carries it.
    /// </summary>
    /// <value>
    /// The default (null) is the entry's own TTL when the backend has a backplane, and 1 second when it has none.
    /// Must be positive when set.
    /// </value>
    public TimeSpan? MaxLifetime { get; init; }
}
