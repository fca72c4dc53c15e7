namespace CachifyNet.Internal;

/// <summary>What a backend needs from its keyspaces without knowing their types.</summary>
internal interface IKeyspace
{
    /// <summary>The backend was disposed: drop everything held locally.</summary>
    void OnBackendDisposed();

    /// <summary>Keys in use in the keyspace's lock table now (the cachify.lock.count gauge).</summary>
    int LockCount { get; }

    /// <summary>Entries held in process memory (the cachify.entry.count gauge); null for a store that keeps none.</summary>
    int? EntryCount { get; }

    /// <summary>Drops local entries the underlying store evicted on its own; returns how many entries remain.</summary>
    int Sweep();
}
