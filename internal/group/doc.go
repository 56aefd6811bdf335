// Package group owns RAM groups: named sets of users (a user is in at most
// MaxGroupsPerUser groups) whose attached policies every member gets.
// group.go holds the Group and its checks, service.go the use cases
// (CreateGroup, Group, ListGroups, UpdateGroup, DeleteGroup, AddUser,
// RemoveUser, GroupsOfUser, Members), store.go the Store and MemberStore
// they need, errors.go the sentinels.
//
// A membership joins a group and a user: the package imports user for
// CheckName and ErrUserNotFound, besides domain. It never imports
// net/http, database/sql or a driver.
package group
