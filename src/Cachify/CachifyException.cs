namespace CachifyNet;

/// <summary>
/// A cache backend failed and was configured to report it (for example Redis with <c>OnError = Throw</c>).
/// The backend's own exception is the <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class CachifyException : Exception
{
    /// <summary>Creates an exception with no message.</summary>
    public CachifyException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public CachifyException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception that wraps the backend's error.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The backend's exception.</param>
    public CachifyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
