namespace CachifyNet.Internal;

/// <summary>What a backend needs from its keyspaces without knowing their types.</summary>
internal interface IKeyspace
{
    /// <summary>The backend was disposed: drop everything held locally.</summary>
    void OnBackendDisposed();

    /// <summary>Drops local entries the underlying store evicted on its own; returns how many entries remain.</summary>
    int Sweep();
}
