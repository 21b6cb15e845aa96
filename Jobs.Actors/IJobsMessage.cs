namespace Jobs.Actors;

/// <summary>
/// Marks every message and journal event of ActorJobs. The binding in <c>hocon/serialization.conf</c> sends all
/// of them through <see cref="Serialization.JobsSerializer"/>, so a new type cannot ship with the default serializer.
/// </summary>
public interface IJobsMessage;
