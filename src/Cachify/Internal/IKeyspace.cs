namespace CachifyNet.Internal;

/// <summary>What a backend needs from its keyspaces without knowing their types.</summary>
internal interface IKeyspace
{
    /// <summary>The backend was disposed: drop everything held locally.</summary>
    void OnBackendDisposed();
}
