namespace Jobs.Actors.Workers;

/// <summary>
/// Asked of a <see cref="MembershipWitness"/> on another member by a worker that was paused (SIGSTOP, a VM freeze):
/// how does that member see the worker's node (<see cref="Address"/> and <see cref="Uid"/>, its incarnation)?
/// Answered with <see cref="MemberStatusSeen"/>.
/// </summary>
public sealed record ConfirmMember(string Address, long Uid) : IJobsMessage;

/// <summary>
/// <see cref="Status"/> is the member's status as the witness sees it (<c>Up</c>, <c>WeaklyUp</c>, <c>Leaving</c>,
/// <c>Down</c>, …), or <see cref="MembershipWitness.Absent"/> when that incarnation is not a member at all.
/// </summary>
public sealed record MemberStatusSeen(string Address, long Uid, string Status) : IJobsMessage;
